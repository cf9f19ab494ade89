"""Partner links: an account proves it owns a business partner; staff decide what the grid
operator could not."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from ebok.models import linking as m
from entrypoints.api.auth import scope
from entrypoints.api.deps import Ebok
from entrypoints.api.idempotency import IdempotentRoute
from entrypoints.api.problems import responses

router = APIRouter(
    route_class=IdempotentRoute,
    prefix="/v1/accounts/{account_id}/partner-link",
    tags=["linking"],
    dependencies=[Depends(scope("linking"))],
    responses=responses(401, 403, 404, 422, 429),
)


class LinkAttempt(BaseModel):
    partner_number: str
    invoice_number: str | None = None
    gross: str | None = Field(
        default=None, description="the invoice's gross amount in PLN, e.g. 123.45"
    )
    ppe: str | None = Field(default=None, description="the PPE code instead of an invoice")


class StaffDecision(BaseModel):
    reason: str
    staff: str


@router.post("/attempts", responses=responses(409, 429))
async def attempt(account_id: str, body: LinkAttempt, ebok: Ebok) -> m.LinkAnswer:
    """One attempt ("Powiąż"): 429 while locked out, 409 while an earlier one is checked."""
    return await ebok.link_partner(
        account_id,
        body.partner_number,
        invoice_number=body.invoice_number,
        gross=body.gross,
        ppe=body.ppe,
    )


@router.get("")
async def status(account_id: str, ebok: Ebok) -> m.LinkingStatus:
    return await ebok.linking_status(account_id)


@router.post("/approve", dependencies=[Depends(scope("staff"))], responses=responses(409))
async def approve(account_id: str, body: StaffDecision, ebok: Ebok) -> m.LinkingStatus:
    """Staff: link although the operator's check did not confirm."""
    return await ebok.approve_link(account_id, body.reason, body.staff)


@router.post("/reject", dependencies=[Depends(scope("staff"))], responses=responses(409))
async def reject(account_id: str, body: StaffDecision, ebok: Ebok) -> m.LinkingStatus:
    return await ebok.reject_link(account_id, body.reason, body.staff)
