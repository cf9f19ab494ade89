"""Loading the billing system's partner export, one CSV row per point of delivery (PPE).

Every row is validated (check digits, lengths, amounts, dates) and checked against the rows
before it and against the store. A bad row is reported with its line, field and a message
(never the value: it may be a PESEL) and the others are loaded. Writes are upserts on natural
keys, so a file may be loaded again after fixing it: rows are updated, never duplicated.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from os import PathLike
from typing import Annotated, Literal, TextIO

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict
from pydantic_core import PydanticCustomError
from sqlalchemy.exc import IntegrityError

from ebok.csv_rows import (
    ImportFileError,
    RowError,
    RowsReport,
    iso_date,
    lines_of,
    read_rows,
    validate_row,
)
from ebok.ids import NIP, PESEL, PPE, LegacyPPE, PartnerNumber
from ebok.money import Money
from ebok.store.db import Store, UnitOfWork

__all__ = [
    "COLUMNS",
    "DEFAULT_BATCH",
    "INVOICE_COLUMNS",
    "ImportFileError",
    "ImportReport",
    "RowError",
    "import_partners",
]

COLUMNS = (
    "partner_number",
    "partner_name",
    "partner_kind",
    "nip",
    "pesel",
    "contract_account",
    "ppe",
    "legacy_ppe",
    "area",
    "tariff",
)
# The customer's latest invoice for the contract account: the columns may be left out, and
# left empty in a row that has none.
INVOICE_COLUMNS = ("invoice_number", "invoice_gross", "invoice_date")
CONTRACT_ACCOUNT_LENGTH = 12  # a fixed fact of the billing system, like the partner number
DEFAULT_BATCH = 500
NAME_MAX = 200


def _matching(pattern: str, example: str) -> AfterValidator:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise PydanticCustomError("format", f'must look like "{example}"')
        return value

    return AfterValidator(check)


def _name(value: str) -> str:
    if not 1 <= len(value) <= NAME_MAX:
        raise PydanticCustomError("format", f"must be 1-{NAME_MAX} characters")
    # C* is control, format (bidi overrides, zero-width) and unassigned: nothing a name needs.
    if any(unicodedata.category(c)[0] == "C" or c in "\u2028\u2029" for c in value):
        raise PydanticCustomError("format", "must not contain control characters")
    return value


Name = Annotated[str, AfterValidator(_name)]
ContractAccount = Annotated[
    str, _matching(f"[0-9]{{{CONTRACT_ACCOUNT_LENGTH}}}", "200000000101 (12 digits)")
]
Area = Annotated[
    str, AfterValidator(str.upper), _matching(r"(?=.{1,32}\Z)[A-Z0-9]+(-[A-Z0-9]+)*", "WAW-MOKOTOW")
]
Tariff = Annotated[str, AfterValidator(str.upper), _matching(r"[A-Z][A-Z0-9]{1,7}", "G11")]
InvoiceNumber = Annotated[str, _matching(r"[A-Za-z0-9][A-Za-z0-9/._-]{0,39}", "FV/2026/11/000101")]
# Before-validators run right to left, so this one goes last to see the raw cell first.
Optional = BeforeValidator(lambda value: None if value == "" else value)


class _Row(BaseModel):
    """One row, normalized; unknown columns never get this far (the header is checked)."""

    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    partner_number: PartnerNumber
    partner_name: Name
    partner_kind: Annotated[Literal["household", "business"], BeforeValidator(str.lower)]
    nip: Annotated[NIP | None, Optional]
    pesel: Annotated[PESEL | None, Optional]
    contract_account: ContractAccount
    ppe: PPE
    legacy_ppe: Annotated[LegacyPPE | None, Optional]
    area: Area
    tariff: Tariff
    invoice_number: Annotated[InvoiceNumber | None, Optional] = None
    invoice_gross: Annotated[Money | None, Optional] = None
    invoice_date: Annotated[date | None, BeforeValidator(iso_date), Optional] = None


@dataclass
class ImportReport(RowsReport):
    loaded: int = 0

    def summary(self) -> str:
        return f"{self.rows_read} rows read, {self.loaded} loaded, {len(self.bad_lines)} bad"


def _parse(line: int, cells: dict[str, str]) -> _Row | list[RowError]:
    """The row normalized, or an error for each bad field."""
    row = validate_row(line, _Row, cells)
    errors = row if isinstance(row, list) else []
    if cells["partner_kind"].lower() == "business" and not cells["nip"]:  # a company has one
        errors.append(RowError(line, "nip", "required for a business partner"))
    given = [name for name in INVOICE_COLUMNS if cells.get(name)]
    if given and len(given) < len(INVOICE_COLUMNS):
        errors.extend(
            RowError(line, name, "missing: an invoice needs its number, gross amount and date")
            for name in INVOICE_COLUMNS
            if name not in given
        )
    return errors if errors or isinstance(row, list) else row


# Each natural key of a row, and the columns every row with that key must agree on.
_AGREE = {
    "partner_number": ("partner_name", "partner_kind", "nip", "pesel"),
    "contract_account": ("partner_number",),
    "ppe": ("contract_account", "legacy_ppe", "area", "tariff"),
    "nip": ("partner_number",),
    "legacy_ppe": ("ppe",),
    "invoice_number": ("partner_number", "contract_account", "invoice_gross", "invoice_date"),
}


class _Seen:
    """The first row of the file with each key: a later row may repeat it, not contradict it."""

    def __init__(self) -> None:
        self._first: dict[tuple[str, object], tuple[int, _Row]] = {}

    def conflicts(self, line: int, row: _Row) -> list[RowError]:
        found = []
        for key, columns in _AGREE.items():
            seen = self._first.get((key, getattr(row, key)))
            if seen is None:
                continue
            if differing := [c for c in columns if getattr(seen[1], c) != getattr(row, c)]:
                msg = f"line {seen[0]} has the same {key} with another {', '.join(differing)}"
                found.append(RowError(line, key, msg))
        return found

    def add(self, line: int, row: _Row) -> None:
        for key in _AGREE:
            if (value := getattr(row, key)) is not None:
                self._first.setdefault((key, value), (line, row))


async def _write(uow: UnitOfWork, line: int, row: _Row, at: datetime) -> RowError | None:
    """Upsert one row, unless it contradicts what the store holds from other files."""
    billing = uow.billing
    owner = await billing.partner_by_nip(row.nip) if row.nip else None
    if owner and owner != row.partner_number:
        return RowError(line, "nip", f"belongs to partner {owner} in the store")
    ppe = await billing.ppe_of_legacy(row.legacy_ppe) if row.legacy_ppe else None
    if ppe and ppe != row.ppe:
        return RowError(line, "legacy_ppe", f"is the legacy code of PPE {ppe} in the store")
    await billing.upsert_partner(
        row.partner_number,
        name=row.partner_name,
        kind=row.partner_kind,
        nip=row.nip,
        pesel=row.pesel,
        at=at,
    )
    await billing.upsert_contract_account(
        row.contract_account, partner_number=row.partner_number, at=at
    )
    await billing.upsert_ppe(
        row.ppe,
        contract_account=row.contract_account,
        area=row.area,
        tariff=row.tariff,
        legacy_ppe=row.legacy_ppe,
        at=at,
    )
    if row.invoice_number and row.invoice_gross is not None and row.invoice_date:
        await billing.upsert_invoice(
            row.invoice_number,
            partner_number=row.partner_number,
            contract_account=row.contract_account,
            gross_grosze=row.invoice_gross.grosze,
            issue_date=row.invoice_date,
            at=at,
        )
    return None


async def _load(store: Store, batch: list[tuple[int, _Row]], at: datetime) -> list[RowError]:
    """One transaction for the batch; returns the rows it refused."""
    try:
        async with store.begin() as uow:
            refused = [e for line, row in batch if (e := await _write(uow, line, row, at))]
        return refused
    except IntegrityError:
        pass
    # Another import wrote a conflicting key meanwhile; row by row finds which rows it hit.
    refused = []
    for line, row in batch:
        try:
            async with store.begin() as uow:
                if error := await _write(uow, line, row, at):
                    refused.append(error)
        except IntegrityError:
            msg = "conflicts with data another import stored meanwhile; load the file again"
            refused.append(RowError(line, "row", msg))
    return refused


def _header(cells: list[str]) -> list[str]:
    names = [c.strip().lstrip("\ufeff").lower() for c in cells]
    allowed = (*COLUMNS, *INVOICE_COLUMNS)
    problems = []
    if missing := [c for c in COLUMNS if c not in names]:
        problems.append(f"missing columns: {', '.join(missing)}")
    invoice = [c for c in INVOICE_COLUMNS if c in names]
    if invoice and len(invoice) < len(INVOICE_COLUMNS):
        left_out = ", ".join(c for c in INVOICE_COLUMNS if c not in invoice)
        problems.append(f"missing columns: {left_out} (invoice columns go together)")
    if unknown := [c for c in names if c not in allowed]:
        problems.append(f"unknown columns: {', '.join(map(repr, unknown))}")
    if twice := sorted({c for c in names if names.count(c) > 1}):
        problems.append(f"columns given twice: {', '.join(twice)}")
    if problems:
        expected = ",".join(allowed)
        raise ImportFileError(f"header: {'; '.join(problems)} (expected {expected})")
    return names


async def _import(
    store: Store, lines: Iterator[str], batch_size: int, at: datetime
) -> ImportReport:
    report, seen = ImportReport(), _Seen()
    batch: list[tuple[int, _Row]] = []

    async def flush() -> None:
        refused = await _load(store, batch, at)
        report.loaded += len(batch) - len(refused)
        report.bad.extend(refused)
        batch.clear()

    for line, record in read_rows(lines, _header, amount_column="invoice_gross"):
        report.rows_read += 1
        parsed = _parse(line, record) if isinstance(record, dict) else [record]
        if isinstance(parsed, _Row) and (conflicts := seen.conflicts(line, parsed)):
            parsed = conflicts
        if isinstance(parsed, list):
            report.bad.extend(parsed)
            continue
        seen.add(line, parsed)
        batch.append((line, parsed))
        if len(batch) >= batch_size:
            await flush()
    if batch:
        await flush()
    report.bad.sort(key=lambda e: e.line)
    return report


async def import_partners(
    store: Store,
    source: str | PathLike[str] | TextIO,
    batch_size: int = DEFAULT_BATCH,
    *,
    at: datetime | None = None,
) -> ImportReport:
    """Load a partner file (a path, or an open text stream) into the store.

    Bad rows are in the report and the rest are loaded, a transaction per ``batch_size`` good
    rows. Raises ImportFileError if the file cannot be used at all; batches loaded before a
    read error in the middle of the file stay loaded (loading again is safe).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    at = at or datetime.now(UTC)
    with lines_of(source) as lines:
        return await _import(store, lines, batch_size, at)
