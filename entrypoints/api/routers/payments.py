"""Payments: a bank statement from the bank's export, and what staff must book by hand."""

from __future__ import annotations

import io
from datetime import datetime

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel

from ebok.csv_rows import ImportFileError
from ebok.models.balance import PaymentToBook
from entrypoints.api.auth import scope
from entrypoints.api.deps import Ebok
from entrypoints.api.idempotency import IdempotentRoute
from entrypoints.api.problems import responses
from facade.bank_statement import StatementFormat

router = APIRouter(
    route_class=IdempotentRoute,
    prefix="/v1",
    tags=["payments"],
    dependencies=[Depends(scope("payments"))],
    responses=responses(401, 403, 422, 429),
)

_MAX_STATEMENT = 16 * 1024 * 1024  # a day's statement of a utility is a few megabytes


class Unmatched(BaseModel):
    reference: str
    why: str


class BadRow(BaseModel):
    line: int
    field: str
    message: str


class StatementImported(BaseModel):
    signalled: list[str]
    duplicates: list[str]
    unmatched: list[Unmatched]
    bad: list[BadRow]
    skipped: int


_STATEMENT = {"schema": {"type": "string"}}
_STATEMENT_BODY = {
    "requestBody": {
        "required": True,
        "content": {kind: _STATEMENT for kind in ("text/csv", "text/plain", "application/xml")},
    }
}


@router.post("/bank-statements", openapi_extra=_STATEMENT_BODY, responses=responses(400))
async def import_statement(
    request: Request, ebok: Ebok, format: StatementFormat | None = None
) -> StatementImported:
    """The bank's statement (CSV, MT940 or camt.053; ``format`` or told from the content):
    each transfer goes to the invoice it pays; loading a statement twice applies nothing twice.
    Bad rows are listed and the rest applied; debits and reversals are counted as skipped."""
    raw = await request.body()
    if len(raw) > _MAX_STATEMENT:
        raise HTTPException(413, "the statement is too large")
    try:
        done = await ebok.import_bank_statement(io.BytesIO(raw), format)
    except ImportFileError as e:
        raise HTTPException(400, str(e)) from None
    return StatementImported(
        signalled=done.signalled,
        duplicates=done.duplicates,
        unmatched=[Unmatched(reference=r, why=w) for r, w in done.unmatched],
        bad=[BadRow(line=b.line, field=b.field, message=b.message) for b in done.bad],
        skipped=done.skipped,
    )


@router.get("/payments/to-book")
async def to_book(ebok: Ebok, since: datetime | None = None) -> list[PaymentToBook]:
    """Payments no invoice could take, oldest first, for staff to book by hand."""
    return await ebok.payments_to_book(since)
