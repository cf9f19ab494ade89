"""E-invoice consents: request, confirm by the mailed link, resend, withdraw, status, audit."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from ebok.models import einvoice as m
from entrypoints.api.auth import scope
from entrypoints.api.deps import Ebok
from entrypoints.api.idempotency import IdempotentRoute
from entrypoints.api.problems import responses

router = APIRouter(
    route_class=IdempotentRoute,
    prefix="/v1",
    tags=["einvoice"],
    dependencies=[Depends(scope("einvoice"))],
    responses=responses(401, 403, 422, 429),
)


class EInvoiceRequest(BaseModel):
    account_id: str
    terms_version: str
    channel: str = "web"


class ResendConfirmation(BaseModel):
    requested_by: str = "customer"


class WithdrawRequest(BaseModel):
    channel: str = "web"
    by: str = "customer"
    reason: str = ""
    account_id: str | None = None


class ConfirmRequest(BaseModel):
    token: str


class ConfirmResult(BaseModel):
    outcome: m.ConfirmOutcome


class ConsentView(BaseModel):
    id: str
    partner_number: str
    account_id: str
    email: str
    language: str
    terms_version: str
    channel: str
    requested_at: datetime
    granted_at: datetime
    withdrawn_at: datetime | None
    withdrawn_channel: str | None


_PARTNER = "/partners/{partner_number}/einvoice"


@router.post(_PARTNER, responses=responses(404, 409, 429))
async def request(partner_number: str, body: EInvoiceRequest, ebok: Ebok) -> m.ConfirmationPending:
    """Ask for e-invoices; the confirmation link is mailed. Again while pending: a new link."""
    return await ebok.request_einvoice(
        body.account_id, partner_number, body.terms_version, body.channel
    )


@router.get(_PARTNER, responses=responses(404))
async def status(partner_number: str, ebok: Ebok) -> m.EInvoiceStatus:
    return await ebok.einvoice_status(partner_number)


@router.post(_PARTNER + "/resend", responses=responses(404, 409, 429))
async def resend(
    partner_number: str, body: ResendConfirmation, ebok: Ebok
) -> m.ConfirmationPending:
    return await ebok.resend_einvoice(partner_number, body.requested_by)


@router.post(_PARTNER + "/withdraw", responses=responses(404, 409))
async def withdraw(partner_number: str, body: WithdrawRequest, ebok: Ebok) -> m.EInvoiceStatus:
    """Back to paper from the next invoice."""
    return await ebok.withdraw_einvoice(
        partner_number, body.channel, body.by, body.reason, account_id=body.account_id
    )


@router.get(_PARTNER + "/consents")
async def consents(partner_number: str, ebok: Ebok) -> list[ConsentView]:
    """Every consent of the partner, oldest first, withdrawn ones included."""
    found = await ebok.einvoice_consents(partner_number)
    return [ConsentView.model_validate(c, from_attributes=True) for c in found]


@router.post("/einvoice-confirmations")
async def confirm(body: ConfirmRequest, ebok: Ebok) -> ConfirmResult:
    """Follow a confirmation link: ``confirmed``, or why not."""
    return ConfirmResult(outcome=await ebok.confirm_einvoice(body.token))
