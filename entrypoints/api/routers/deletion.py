"""Account deletion and the data export (GDPR art. 17, 15 and 20): request, confirm by the
mailed link, resend, cancel (the customer, sign-in, or staff), status, and the account's data
as JSON."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from ebok.models import deletion as m
from entrypoints.api.auth import scope
from entrypoints.api.deps import Ebok
from entrypoints.api.idempotency import IdempotentRoute
from entrypoints.api.problems import responses

router = APIRouter(
    route_class=IdempotentRoute,
    prefix="/v1",
    tags=["account"],
    dependencies=[Depends(scope("account"))],
    responses=responses(401, 403, 422, 429),
)


class DeletionRequest(BaseModel):
    channel: str = "web"


class ResendConfirmation(BaseModel):
    requested_by: str = "customer"


class CustomerCancel(BaseModel):
    reason: str = ""


class StaffStop(BaseModel):
    staff: str
    reason: str


class ConfirmRequest(BaseModel):
    token: str


class SignInResult(BaseModel):
    cancelled: bool  # a deletion in progress was cancelled by this sign-in


_DELETION = "/accounts/{account_id}/deletion"


@router.post(_DELETION, responses=responses(404, 409, 429))
async def request(account_id: str, body: DeletionRequest, ebok: Ebok) -> m.DeletionPending:
    """Ask to delete the account; the confirmation link is mailed. Again while pending: a new
    link."""
    return await ebok.request_deletion(account_id, body.channel)


@router.get(_DELETION, responses=responses(404))
async def status(account_id: str, ebok: Ebok) -> m.DeletionStatus:
    return await ebok.deletion_status(account_id)


@router.post(_DELETION + "/resend", responses=responses(404, 409, 429))
async def resend(account_id: str, body: ResendConfirmation, ebok: Ebok) -> m.DeletionPending:
    return await ebok.resend_deletion(account_id, body.requested_by)


@router.post(_DELETION + "/cancel", responses=responses(404, 409))
async def cancel(account_id: str, body: CustomerCancel, ebok: Ebok) -> m.DeletionStatus:
    """The customer changed their mind: nothing is erased."""
    return await ebok.cancel_deletion(account_id, "customer", reason=body.reason)


@router.post(
    _DELETION + "/stop", dependencies=[Depends(scope("staff"))], responses=responses(404, 409)
)
async def stop(account_id: str, body: StaffStop, ebok: Ebok) -> m.DeletionStatus:
    """Staff stop a deletion before the erasure (their login and the reason are recorded)."""
    return await ebok.cancel_deletion(account_id, "staff", body.staff, body.reason)


@router.post(_DELETION + "/sign-in")
async def signed_in(account_id: str, ebok: Ebok) -> SignInResult:
    """For the sign-in of the portal's back end, after a successful sign-in: a deletion
    waiting for its confirmation or its cooling-off is cancelled."""
    return SignInResult(cancelled=await ebok.cancel_deletion_on_sign_in(account_id))


@router.post("/deletion-confirmations")
async def confirm(body: ConfirmRequest, ebok: Ebok) -> m.ConfirmAnswer:
    """Follow a confirmation link: ``scheduled`` (with the erasure's time), or why not."""
    return await ebok.confirm_deletion(body.token)


@router.get("/accounts/{account_id}/data-export", responses=responses(404))
async def export(account_id: str, ebok: Ebok) -> m.AccountExport:
    """Everything the store holds about the account, as JSON (GDPR art. 15 and 20)."""
    return await ebok.export_account_data(account_id)
