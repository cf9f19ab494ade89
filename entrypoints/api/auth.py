"""Service authentication: ``Authorization: Bearer <key>``, and a scope per process family.

Every route but health and readiness depends on :func:`scope`. A missing, unknown or revoked
key is 401 (with ``WWW-Authenticate``); a key without the route's scope is 403; a service over
its request rate is 429 (with ``Retry-After``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from entrypoints.api.ratelimit import RateLimits
from facade.api_keys import SCOPES, ApiKey, ApiKeys

__all__ = ["scope"]

_BEARER = HTTPBearer(auto_error=False, description="an API key made by `ebok api-key create`")
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="ebok"'}

Check = Callable[..., Awaitable[ApiKey]]


async def _caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
) -> ApiKey:
    if credentials is None:
        raise HTTPException(401, "send an API key: Authorization: Bearer <key>", _CHALLENGE)
    key: ApiKey | None = getattr(request.state, "api_key", None)  # checked already
    if key is None:
        keys: ApiKeys = request.app.state.api_keys
        key = await keys.check(credentials.credentials)
    if key is None:
        raise HTTPException(401, "the API key is unknown or revoked", _CHALLENGE)
    limits: RateLimits = request.app.state.rate_limits
    wait = limits.take(key.service)
    if wait is not None:
        raise HTTPException(
            429, f"{key.service} is over its request rate", {"Retry-After": str(wait)}
        )
    return key


def scope(name: str) -> Check:
    """A dependency that lets through callers whose key has scope ``name``."""
    if name not in SCOPES:
        raise ValueError(f"unknown scope {name!r}")

    async def check(key: Annotated[ApiKey, Depends(_caller)]) -> ApiKey:
        if name not in key.scopes:
            raise HTTPException(403, f"the API key of {key.service} lacks the scope {name!r}")
        return key

    return check
