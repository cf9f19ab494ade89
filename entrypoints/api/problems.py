"""Errors as RFC 9457 problem details (``application/problem+json``).

The facade's exceptions and FastAPI's request validation become problems here, and nowhere
else: a router only calls the facade. A validation problem lists each field with the message
the facade (and so the CLI) gives for it. Nothing unexpected leaves with its details: the
catch-all answers 500 with a generic text and logs the exception.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from temporalio.service import RPCError, RPCStatusCode

from ebok.errors import (
    EbokError,
    InvalidInput,
    LimitReached,
    NotFound,
    RateLimited,
    Unavailable,
)

__all__ = [
    "MEDIA_TYPE",
    "PROBLEM_TYPE",
    "FieldError",
    "Problem",
    "install",
    "known",
    "problem",
    "responses",
]

log = logging.getLogger(__name__)

_TRY_LATER = (
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.RESOURCE_EXHAUSTED,
)
MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE = "https://ebok.example.pl/problems/"  # + a slug; the pages document each kind

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    422: "Invalid input",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}
_SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "wrong-state",
    422: "invalid-input",
    429: "rate-limited",
    500: "internal-error",
    503: "unavailable",
}


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details; ``errors`` on validation problems, ``retry_at`` on 429."""

    type: str
    title: str
    status: int
    detail: str = ""
    errors: list[FieldError] | None = None
    retry_at: datetime | None = None


def problem(
    status: int,
    detail: str = "",
    *,
    slug: str | None = None,
    errors: dict[str, str] | None = None,
    retry_at: datetime | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = Problem(
        type=PROBLEM_TYPE + (slug or _SLUGS.get(status, "error")),
        title=_TITLES.get(status, "Error"),
        status=status,
        detail=detail,
        errors=[FieldError(field=f, message=m) for f, m in errors.items()] if errors else None,
        retry_at=retry_at,
    )
    return JSONResponse(
        body.model_dump(mode="json", exclude_none=True),
        status_code=status,
        media_type=MEDIA_TYPE,
        headers=headers,
    )


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the problems an operation may answer with."""
    return {s: {"model": Problem, "description": _TITLES[s]} for s in statuses}


def _field(loc: tuple[int | str, ...]) -> str:
    # ("body", "email") → "email": where in the request is the status's business, not the field's.
    parts = loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc
    return ".".join(str(p) for p in parts) or "body"


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors: dict[str, str] = {}
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            return problem(400, "the body is not valid JSON", slug="malformed-body")
        # The message only: the rejected input is never echoed (it may be a password).
        errors.setdefault(_field(tuple(err.get("loc", ()))), str(err.get("msg", "is invalid")))
    return problem(422, "the request has invalid fields", errors=errors)


def _retry_after(at: datetime) -> str:
    return str(max(1, round((at - datetime.now(UTC)).total_seconds())))


async def _facade_error(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, InvalidInput):
        return problem(422, "the request has invalid fields", errors=exc.errors)
    if isinstance(exc, NotFound):
        return problem(404, str(exc))
    if isinstance(exc, RateLimited):
        wait = {"Retry-After": _retry_after(exc.retry_at)}
        return problem(429, str(exc), retry_at=exc.retry_at, headers=wait)
    if isinstance(exc, LimitReached):
        return problem(409, str(exc), slug="limit-reached")
    if isinstance(exc, Unavailable):
        return problem(503, str(exc))
    return problem(409, str(exc))  # WrongState, and any other refusal of the facade


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else ""
    return problem(exc.status_code, detail, headers=dict(exc.headers or {}))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, RPCError) and exc.status in _TRY_LATER:
        log.warning("Temporal unavailable in %s %s: %s", request.method, request.url.path, exc)
        return problem(503, "the workflow service cannot be reached now; try again later")
    log.exception("unexpected error in %s %s", request.method, request.url.path)
    return problem(500)


async def known(request: Request, exc: Exception) -> JSONResponse | None:
    """The problem an expected exception answers with; None for anything else."""
    if isinstance(exc, RequestValidationError):
        return await _invalid_request(request, exc)
    if isinstance(exc, EbokError):
        return await _facade_error(request, exc)
    if isinstance(exc, HTTPException):
        return await _http_error(request, exc)
    return None


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(EbokError, _facade_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
