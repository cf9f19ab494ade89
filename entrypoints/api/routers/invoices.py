"""Invoices: issue (from billing), status, a pay-online link, staff actions, and balances."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field

from ebok.errors import InvalidInput
from ebok.models import invoice as m
from ebok.models.balance import Balance
from entrypoints.api.auth import scope
from entrypoints.api.deps import Ebok
from entrypoints.api.idempotency import IdempotentRoute
from entrypoints.api.problems import responses

router = APIRouter(
    route_class=IdempotentRoute,
    prefix="/v1",
    tags=["invoices"],
    dependencies=[Depends(scope("invoices"))],
    responses=responses(401, 403, 422, 429),
)

# Invoice numbers have slashes (FV/2026/01/0001): the path converter takes them whole.
_INVOICE = "/invoices/{number:path}"


class Issued(BaseModel):
    workflow_id: str


class PayOnline(BaseModel):
    customer_ip: str = Field(description="the customer's address, as the portal saw it")
    language: str = "pl"


class StaffAction(BaseModel):
    reason: str
    staff: str


class Staff(BaseModel):
    staff: str


class PostalAddress(BaseModel):
    """Where the partner's registered letters (the disconnection notice) go."""

    name: str
    street: str
    postal_code: str = Field(description="NN-NNN")
    city: str


# The body is billing's invoice, validated by the facade alone: a rule spanning fields is
# reported on the field it names, as the CLI's import reports it. The document shows the model.
_ISSUE_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IssueInvoice"}}},
    }
}
EXTRA_SCHEMAS = (m.IssueInvoice,)  # for the OpenAPI components (entrypoints/api/app.py)


@router.post("/invoices", status_code=201, openapi_extra=_ISSUE_BODY)
async def issue(request: Request, ebok: Ebok) -> Issued:
    """Start the invoice's lifecycle; issuing the same number again is the same invoice."""
    try:
        data = await request.json()
    except ValueError:
        raise HTTPException(400, "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise InvalidInput.one("body", "must be a JSON object")
    return Issued(workflow_id=await ebok.issue_invoice(data))


@router.get(_INVOICE, responses=responses(404))
async def status(number: str, ebok: Ebok) -> m.InvoiceStatus:
    return await ebok.invoice_status(number)


@router.post(_INVOICE + "/payment-link", responses=responses(404, 409, 503))
async def payment_link(number: str, body: PayOnline, ebok: Ebok) -> m.PaymentLink:
    """A pay-online link for what is left to pay; the same standing gives the same link."""
    return await ebok.pay_online(number, body.language, customer_ip=body.customer_ip)


@router.post(
    _INVOICE + "/waive-reminder",
    dependencies=[Depends(scope("staff"))],
    responses=responses(404, 409),
)
async def waive_reminder(number: str, body: StaffAction, ebok: Ebok) -> m.InvoiceStatus:
    return await ebok.waive_reminder(number, body.reason, body.staff)


@router.post(
    _INVOICE + "/cancel", dependencies=[Depends(scope("staff"))], responses=responses(404, 409)
)
async def cancel(number: str, body: StaffAction, ebok: Ebok) -> m.InvoiceStatus:
    return await ebok.cancel_invoice(number, body.reason, body.staff)


@router.post(
    _INVOICE + "/resend-notice",
    dependencies=[Depends(scope("staff"))],
    responses=responses(404, 409),
)
async def resend_notice(number: str, body: Staff, ebok: Ebok) -> m.InvoiceStatus:
    """Post the demand's registered letter again, once its postal address is fixed."""
    return await ebok.resend_notice(number, body.staff)


@router.put("/partners/{partner_number}/postal-address", status_code=204, responses=responses(422))
async def postal_address(partner_number: str, body: PostalAddress, ebok: Ebok) -> None:
    await ebok.set_postal_address(
        partner_number, body.name, body.street, body.postal_code, body.city
    )


@router.get("/partners/{partner_number}/balance")
async def balance(partner_number: str, ebok: Ebok, on: date | None = None) -> Balance:
    """What the partner owes and has paid, per contract account, on ``on`` (default today)."""
    return await ebok.balance(partner_number, on)
