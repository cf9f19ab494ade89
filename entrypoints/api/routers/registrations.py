"""Registration: sign-up, credentials, activation, resend, cancel, status."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from ebok.models import registration as m
from entrypoints.api.auth import CUSTOMER_FACING, scope
from entrypoints.api.deps import Ebok
from entrypoints.api.idempotency import IdempotentRoute
from entrypoints.api.problems import responses
from facade.client import Registered

router = APIRouter(
    route_class=IdempotentRoute,
    prefix="/v1",
    tags=["registration"],
    dependencies=[Depends(scope("registration"))],
    responses=responses(401, 403, 422, 429),
)


class ResendActivation(BaseModel):
    requested_by: Literal["customer", "staff"] = "customer"


class CancelRequest(BaseModel):
    reason: str = ""


class ActivationRequest(BaseModel):
    token: str = Field(description="the token of the activation link")


class ActivationResult(BaseModel):
    outcome: m.ActivationOutcome


@router.post(
    "/registrations", status_code=201, responses=responses(409), dependencies=CUSTOMER_FACING
)
async def register(body: m.SignUp, ebok: Ebok) -> Registered:
    """Step 1. The answer is the same for a new address and for one that has an account."""
    return await ebok.register(str(body.email), body.login, body.language)


@router.put("/registrations/{registration_id}/credentials", responses=responses(404, 409))
async def set_credentials(
    registration_id: str, body: m.Credentials, ebok: Ebok
) -> m.ActivationPending:
    """Step 2: the password and the accepted terms; the activation mail goes out."""
    return await ebok.set_credentials(
        registration_id,
        body.password.get_secret_value(),
        body.terms_version,
        body.terms_accepted,
    )


@router.post("/registrations/{registration_id}/resend", responses=responses(404, 409, 429))
async def resend(registration_id: str, body: ResendActivation, ebok: Ebok) -> m.ActivationPending:
    """A new activation link; earlier ones stop working. 429 (Retry-After) within the cooldown."""
    return await ebok.resend(registration_id, body.requested_by)


@router.post("/registrations/{registration_id}/cancel", responses=responses(404, 409))
async def cancel(registration_id: str, body: CancelRequest, ebok: Ebok) -> m.RegistrationStatus:
    """Stop the registration; its personal data is purged."""
    return await ebok.cancel(registration_id, body.reason)


@router.get("/registrations/{registration_id}", responses=responses(404))
async def status(registration_id: str, ebok: Ebok) -> m.RegistrationStatus:
    return await ebok.registration_status(registration_id)


@router.post("/activations", dependencies=CUSTOMER_FACING)
async def activate(body: ActivationRequest, ebok: Ebok) -> ActivationResult:
    """Follow an activation link: ``activated``, or why not (expired, invalid, already used)."""
    return ActivationResult(outcome=await ebok.activate(body.token))
