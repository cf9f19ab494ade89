"""The customer account: sign-in, session checks, password reset.

The portal's back end owns sessions and pages: it sends what the customer typed and the
client's address, keeps the answer's credential generation in the session, and asks
``/sessions/{generation}`` whether that session is still valid. A refused sign-in is an answer
(200), not an error: the portal shows it.

These routes do not take ``Idempotency-Key``: a sign-in's and a new password's bodies carry the
password, which must not be kept even as a digest of the body, and every call here is safe to
repeat (a sign-in is answered afresh, a reset request within the cooldown sends nothing, a used
link answers ``already_used``).
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from ebok.models import password_reset as m
from ebok.models.links import Resend
from ebok.models.sign_in import SignInAnswer
from entrypoints.api.auth import scope
from entrypoints.api.deps import Ebok
from entrypoints.api.problems import responses

router = APIRouter(
    prefix="/v1",
    tags=["account"],
    dependencies=[Depends(scope("account"))],
    responses=responses(401, 403, 422, 429),
)


class SignInRequest(BaseModel):
    login_or_email: str = Field(description="the login, or the account's e-mail address")
    password: str = Field(description="as typed; never stored or logged")
    client_ip: str = Field(description="the customer's IP address as the portal saw it")


class SessionCheck(BaseModel):
    valid: bool


class ResetRequest(BaseModel):
    email: str


class ResetAccepted(BaseModel):
    """The same for every address, with an account or without (nothing is sent then)."""

    status: Literal["accepted"] = "accepted"


class ResetConfirmation(BaseModel):
    token: str = Field(description="the token of the mailed link")
    password: str = Field(description="the new password; checked like at registration")


class ResetResult(BaseModel):
    outcome: m.ResetOutcome


_ACCOUNT = "/accounts/{account_id}"


@router.post("/sign-ins")
async def sign_in(body: SignInRequest, ebok: Ebok) -> SignInAnswer:
    """``signed_in`` (account id, credential generation, linked), ``refused`` (an unknown login
    and a wrong password alike), or ``throttled`` with ``retry_at``."""
    return await ebok.sign_in(body.login_or_email, body.password, body.client_ip)


@router.get(_ACCOUNT + "/sessions/{generation}")
async def session(account_id: str, generation: int, ebok: Ebok) -> SessionCheck:
    """Is a session opened with this credential generation still valid? A password change or
    reset ends every session."""
    return SessionCheck(valid=await ebok.session_valid(account_id, generation))


@router.post("/password-resets", status_code=202)
async def request_reset(body: ResetRequest, ebok: Ebok) -> ResetAccepted:
    """Mail a 24-hour reset link to the account of this address. The same answer for every
    address; within the cooldown nothing more is sent."""
    await ebok.request_password_reset(body.email)
    return ResetAccepted()


@router.post("/password-reset-confirmations")
async def confirm_reset(body: ResetConfirmation, ebok: Ebok) -> ResetResult:
    """Follow a reset link with the new password: ``changed`` (every session ended), or why
    not (expired, invalid, already used). A weak password is 422, and the link still works."""
    return ResetResult(outcome=await ebok.confirm_password_reset(body.token, body.password))


@router.get(_ACCOUNT + "/password-reset", responses=responses(404))
async def reset_status(account_id: str, ebok: Ebok) -> m.PasswordResetStatus:
    return await ebok.password_reset_status(account_id)


@router.post(
    _ACCOUNT + "/password-reset",
    dependencies=[Depends(scope("staff"))],
    responses=responses(404, 409),
)
async def start_reset(account_id: str, ebok: Ebok) -> m.ResetPending:
    """Staff: mail the account a reset link now. 429 within the cooldown."""
    return await ebok.start_password_reset(account_id)


@router.post(_ACCOUNT + "/password-reset/resend", responses=responses(404, 409))
async def resend_reset(account_id: str, body: Resend, ebok: Ebok) -> m.ResetPending:
    """A new link; the old one stops working. 429 within the cooldown."""
    return await ebok.resend_password_reset(account_id, body.requested_by)
