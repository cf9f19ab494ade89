"""Service authentication: ``Authorization: Bearer <key>``, and a scope per process family.

Every route but health and readiness depends on :func:`scope`. A missing, unknown or revoked
key is 401 (with ``WWW-Authenticate``); a key without the route's scope is 403; a service over
its request rate is 429 (with ``Retry-After``), and so is a request on behalf of a customer
whose address (the ``Customer-IP`` header) is over its own rate.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import IPvAnyAddress

from entrypoints.api.ratelimit import RateLimits, network_of
from facade.api_keys import SCOPES, ApiKey, ApiKeys

__all__ = ["CUSTOMER_FACING", "CUSTOMER_IP", "customer_rate", "scope"]

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


# The customer's address as the calling back end saw it (the API's own peer is that back end).
CUSTOMER_IP = "Customer-IP"


async def customer_rate(
    request: Request,
    customer_ip: Annotated[
        IPvAnyAddress | None,
        Header(
            alias=CUSTOMER_IP,
            description="the customer's IP address as the calling back end saw it: requests "
            "from one address (an IPv6 /64) are limited, whichever service sends them",
        ),
    ] = None,
) -> None:
    """A dependency of the endpoints a customer's action reaches: 429 once the customer's
    network is over its rate. Without the header only the service's own limit applies."""
    if customer_ip is None:
        return
    limits: RateLimits = request.app.state.customer_rate_limits
    wait = limits.take(network_of(customer_ip))
    if wait is not None:
        raise HTTPException(
            429, "too many requests from the customer's address", {"Retry-After": str(wait)}
        )


# ``dependencies=`` of a route a customer's action reaches.
CUSTOMER_FACING = (Depends(customer_rate),)
