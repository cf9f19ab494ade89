"""The providers' webhooks on the API's app, at the paths and with the signature checks of the
aiohttp receivers (``entrypoints/webhooks``): ``POST /payments/{adapter}/notify`` (checked by
the payments adapter), ``POST /operator/status`` (the DSO's HMAC, EBOK_OPERATOR_WEBHOOK_SECRET)
and ``POST /post/letters`` (the post's, checked by the postal adapter).
They take no API key: the signature is what is believed, and nothing unverified reaches a
workflow."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from activities.outage_operator import operator_status
from adapters.operator.base import NotificationRejected as StatusRejected
from adapters.operator.webhook import verify_status
from adapters.payments.base import NotificationRejected, PaymentError
from adapters.post.base import NotificationRejected as LetterRejected
from adapters.post.base import PostError
from ebok.errors import NotFound
from ebok.models.balance import NotificationOutcome
from ebok.settings import Settings
from entrypoints.api.deps import Ebok
from entrypoints.api.problems import responses

router = APIRouter(tags=["webhooks"])
log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024  # a PayU notification is a few kilobytes, a DSO status a few hundred bytes
_RAW_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
        "description": "the provider's signed notification, byte for byte",
    }
}


class StatusTaken(BaseModel):
    followed: bool
    incident: str | None = None


_STATUS_ANSWERS: dict[int | str, dict[str, Any]] = {
    **responses(401, 404),
    202: {"model": StatusTaken, "description": "verified; no incident of ours follows it"},
}


async def _body(request: Request) -> bytes:
    if int(request.headers.get("content-length") or 0) > MAX_BODY:
        raise HTTPException(413, "the notification is too large")
    body = await request.body()
    if len(body) > MAX_BODY:
        raise HTTPException(413, "the notification is too large")
    return body


@router.post(
    "/payments/{adapter}/notify", openapi_extra=_RAW_BODY, responses=responses(400, 404, 503)
)
async def payment_notification(adapter: str, request: Request, ebok: Ebok) -> NotificationOutcome:
    """Applied, already applied, nothing to apply, or listed for staff: 200 (the provider would
    otherwise resend for days). Not believed: 400. Not taken now: 503 (the provider retries)."""
    settings: Settings = request.app.state.settings
    if adapter != settings.payments_adapter:
        raise HTTPException(404, "no such payments adapter")
    body = await _body(request)
    try:
        return await ebok.payment_notification(body, dict(request.headers))
    except NotificationRejected as e:
        log.warning("payment notification rejected: %s", e.reason)
        raise HTTPException(400, e.reason) from None
    except PaymentError as e:
        log.warning("payment notification not taken now: %s", type(e).__name__)
        raise HTTPException(503, "try again later") from None


@router.post(
    "/operator/status",
    openapi_extra=_RAW_BODY,
    response_model=StatusTaken,
    responses=_STATUS_ANSWERS,
)
async def operator_status_changed(request: Request, ebok: Ebok) -> StatusTaken | JSONResponse:
    """A verified status moves the incident following it; an unverified one is 401."""
    settings: Settings = request.app.state.settings
    if settings.operator_webhook_secret is None:
        raise HTTPException(404, "no DSO webhook here (EBOK_OPERATOR_WEBHOOK_SECRET is unset)")
    body = await _body(request)
    secret = settings.operator_webhook_secret.get_secret_value()
    try:
        verified = verify_status(body, request.headers, secret)
    except StatusRejected as e:
        raise HTTPException(401, str(e)) from None
    try:
        incident_id = await ebok.operator_status_changed(operator_status(verified))
    except NotFound:
        return JSONResponse(StatusTaken(followed=False).model_dump(), status_code=202)
    return StatusTaken(followed=True, incident=incident_id)


class LetterTaken(BaseModel):
    outcome: str  # signalled, not_ours, closed
    invoice: str | None = None


_LETTER_ANSWERS: dict[int | str, dict[str, Any]] = {
    **responses(401, 503),
    202: {"model": LetterTaken, "description": "verified; not a letter of an open invoice"},
}


@router.post(
    "/post/letters", openapi_extra=_RAW_BODY, response_model=LetterTaken, responses=_LETTER_ANSWERS
)
async def letter_notification(request: Request, ebok: Ebok) -> LetterTaken | JSONResponse:
    """The post's news of a registered letter; 200 once the invoice's workflow has it, 202 for
    a letter that is not (or no longer) ours, 401 if not believed."""
    body = await _body(request)
    try:
        told = await ebok.letter_notification(body, dict(request.headers))
    except LetterRejected as e:
        raise HTTPException(401, e.reason) from None
    except PostError as e:
        log.warning("letter notification not taken now: %s", type(e).__name__)
        raise HTTPException(503, "try again later") from None
    taken = LetterTaken(outcome=told.outcome, invoice=told.invoice_number)
    if told.outcome != "signalled":
        return JSONResponse(taken.model_dump(), status_code=202)
    return taken
