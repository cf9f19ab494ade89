"""The customer account: its data, the e-mail change (confirm, undo, staff unlock), RODO
consents; and billing's export of the changes it owns."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from ebok.models import email_change as m
from ebok.models.profile import ConsentEvent, ConsentPurpose, ConsentState, Profile
from entrypoints.api.auth import scope
from entrypoints.api.deps import Ebok
from entrypoints.api.idempotency import IdempotentRoute
from entrypoints.api.problems import responses
from facade.profile import ConsentExport, export_billing_changes

router = APIRouter(
    route_class=IdempotentRoute,
    prefix="/v1",
    tags=["account"],
    dependencies=[Depends(scope("account"))],
    responses=responses(401, 403, 404, 422, 429),
)
billing = APIRouter(
    route_class=IdempotentRoute,
    prefix="/v1/billing-changes",
    tags=["billing"],
    dependencies=[Depends(scope("billing"))],
    responses=responses(401, 403, 429),
)

_ACCOUNT = "/accounts/{account_id}"


class ProfileUpdate(BaseModel):
    """Only the fields sent change; ``phone``/``address`` sent as null are removed."""

    model_config = ConfigDict(extra="forbid")
    phone: str | None = Field(default=None, description="601 234 567, +48 22 123 45 67, ...")
    address: dict[str, Any] | None = Field(
        default=None, description="{street, postal_code (NN-NNN), city}"
    )
    language: str | None = Field(default=None, description="pl or en: the mails' language")
    notifications: dict[str, bool] | None = Field(
        default=None, description="{invoices, reminders, outages, planned_works}"
    )


class EmailChangeRequest(BaseModel):
    new_email: str


class Resend(BaseModel):
    requested_by: str = "customer"


class CancelChange(BaseModel):
    by: str = "customer"
    reason: str = ""


class Unlock(BaseModel):
    staff: str
    reason: str = ""


class LinkToken(BaseModel):
    token: str


class ConfirmResult(BaseModel):
    outcome: m.ConfirmOutcome


class UndoResult(BaseModel):
    outcome: m.UndoOutcome


class GiveConsent(BaseModel):
    version: str
    channel: str = "web"
    text: str | None = Field(default=None, description="the text shown; only its SHA-256 is kept")
    text_sha256: str | None = None


class WithdrawConsent(BaseModel):
    channel: str = "web"


class BillingChangeView(BaseModel):
    change_id: str
    partner_number: str
    field: str
    value: dict[str, Any]
    changed_at: datetime


class BillingBatch(BaseModel):
    batch: int | None = Field(description="the export's number (billing's cursor); null: none")
    changes: list[BillingChangeView]


@router.get(_ACCOUNT + "/profile")
async def profile(account_id: str, ebok: Ebok) -> Profile:
    return await ebok.profile(account_id)


@router.patch(_ACCOUNT + "/profile")
async def update_profile(account_id: str, body: ProfileUpdate, ebok: Ebok) -> Profile:
    """Phone, correspondence address, language, which mails. Billing's data goes to billing."""
    return await ebok.update_profile(account_id, **body.model_dump(exclude_unset=True))


@router.post(_ACCOUNT + "/email-change", responses=responses(409))
async def request_email_change(
    account_id: str, body: EmailChangeRequest, ebok: Ebok
) -> m.ConfirmationPending:
    """Mail a confirmation link (24 h) to the new address; 409 while a change is under way."""
    return await ebok.request_email_change(account_id, body.new_email)


@router.get(_ACCOUNT + "/email-change")
async def email_change_status(account_id: str, ebok: Ebok) -> m.EmailChangeStatus:
    return await ebok.email_change_status(account_id)


@router.post(_ACCOUNT + "/email-change/resend", responses=responses(409))
async def resend(account_id: str, body: Resend, ebok: Ebok) -> m.ConfirmationPending:
    return await ebok.resend_email_change(account_id, body.requested_by)


@router.post(_ACCOUNT + "/email-change/cancel", responses=responses(409))
async def cancel(account_id: str, body: CancelChange, ebok: Ebok) -> m.EmailChangeStatus:
    return await ebok.cancel_email_change(account_id, body.by, body.reason)


@router.post(
    _ACCOUNT + "/email-change/unlock",
    dependencies=[Depends(scope("staff"))],
    responses=responses(409),
)
async def unlock(account_id: str, body: Unlock, ebok: Ebok) -> m.EmailChangeStatus:
    """Staff, after review: unlock an account locked by an undone e-mail change."""
    return await ebok.unlock_account(account_id, body.staff, body.reason)


@router.post("/email-change-confirmations")
async def confirm(body: LinkToken, ebok: Ebok) -> ConfirmResult:
    """Follow the link mailed to the new address: ``changed``, or why not."""
    return ConfirmResult(outcome=await ebok.confirm_email_change(body.token))


@router.post("/email-change-undos")
async def undo(body: LinkToken, ebok: Ebok) -> UndoResult:
    """Follow the undo link mailed to the old address: ``undone`` locks the account."""
    return UndoResult(outcome=await ebok.undo_email_change(body.token))


@router.get(_ACCOUNT + "/consents")
async def consents(account_id: str, ebok: Ebok) -> list[ConsentState]:
    return await ebok.consents(account_id)


@router.get(_ACCOUNT + "/consents/history")
async def consent_history(account_id: str, ebok: Ebok) -> list[ConsentEvent]:
    return await ebok.consent_history(account_id)


@router.get(_ACCOUNT + "/consents/export")
async def export_consents(account_id: str, ebok: Ebok) -> ConsentExport:
    return await ebok.export_consents(account_id)


@router.post(_ACCOUNT + "/consents/{purpose}")
async def give_consent(
    account_id: str, purpose: ConsentPurpose, body: GiveConsent, ebok: Ebok
) -> ConsentState:
    return await ebok.give_consent(
        account_id, purpose.value, body.version, body.channel,
        text=body.text, text_sha256=body.text_sha256,
    )  # fmt: skip


@router.post(_ACCOUNT + "/consents/{purpose}/withdraw")
async def withdraw_consent(
    account_id: str, purpose: ConsentPurpose, body: WithdrawConsent, ebok: Ebok
) -> ConsentState:
    return await ebok.withdraw_consent(account_id, purpose.value, body.channel)


@billing.post("/exports")
async def export_changes(ebok: Ebok) -> BillingBatch:
    """The changes no export has taken, as a new batch; again without new changes: none."""
    return _batch(*await export_billing_changes(ebok.store))


@billing.get("/exports/{batch}", responses=responses(404))
async def export_again(batch: int, ebok: Ebok) -> BillingBatch:
    """A batch again (a lost file)."""
    return _batch(*await export_billing_changes(ebok.store, batch))


def _batch(batch: int | None, changes: list[Any]) -> BillingBatch:
    return BillingBatch(
        batch=batch,
        changes=[
            BillingChangeView(
                change_id=c.id,
                partner_number=c.partner_number,
                field=c.field,
                value=c.value,
                changed_at=c.changed_at,
            )  # fmt: skip
            for c in changes
        ],
    )
