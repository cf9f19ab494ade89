"""The bench's ``api`` side: the scenarios' calls made over the HTTP API instead of the facade.

:func:`over_http` serves the API's app (uvicorn on a port of 127.0.0.1, in the bench process,
as the facade side calls the facade in the bench process) over the side's own facade, and
yields an :class:`HttpFacade` with the facade's method names the scenarios call, each one
request through a pool of keep-alive connections with a key of every scope. So ours and api
differ by what a back end in another language pays: HTTP both ways, the key's check and the
body's validation by the API. The rate limits are lifted: the bench is the only caller.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import uvicorn

from ebok.models import outage as o
from ebok.models import registration as m
from ebok.settings import Settings
from entrypoints.api.app import create_app
from facade.api_keys import SCOPES, ApiKeys
from facade.client import EbokClient
from facade.registration import Registered

__all__ = ["HttpFacade", "over_http"]

UNLIMITED = {"api_rate_per_second": 1e9, "api_rate_burst": 10**9}


class HttpFacade:
    """The facade's operations the scenarios use, as HTTP calls."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    async def _call(self, method: str, path: str, json: object = None) -> httpx.Response:
        answer = await self._http.request(method, path, json=json)
        if answer.status_code >= 400:
            raise AssertionError(f"{method} {path}: {answer.status_code} {answer.text[:300]}")
        return answer

    async def register(self, email: str, login: str, language: str = "pl") -> Registered:
        body = {"email": email, "login": login, "language": language}
        answer = await self._call("POST", "/v1/registrations", body)
        return Registered.model_validate_json(answer.content)

    async def set_credentials(
        self, registration_id: str, password: str, terms_version: str, terms_accepted: bool
    ) -> m.ActivationPending:
        body = {
            "password": password,
            "terms_version": terms_version,
            "terms_accepted": terms_accepted,
        }
        path = f"/v1/registrations/{registration_id}/credentials"
        answer = await self._call("PUT", path, body)
        return m.ActivationPending.model_validate_json(answer.content)

    async def registration_status(self, registration_id: str) -> m.RegistrationStatus:
        answer = await self._call("GET", f"/v1/registrations/{registration_id}")
        return m.RegistrationStatus.model_validate_json(answer.content)

    async def activate(self, token: str) -> m.ActivationOutcome:
        answer = await self._call("POST", "/v1/activations", {"token": token})
        return m.ActivationOutcome(answer.json()["outcome"])

    async def report_outage(
        self, ppe: str, description: str, *, email: str | None = None
    ) -> o.ReportAccepted:
        body = {"ppe": ppe, "description": description, "email": email}
        answer = await self._call("POST", "/v1/outage-reports", body)
        return o.ReportAccepted.model_validate_json(answer.content)


@asynccontextmanager
async def over_http(facade: EbokClient, settings: Settings) -> AsyncIterator[HttpFacade]:
    settings = settings.model_copy(update=UNLIMITED)
    service = f"bench-{secrets.token_hex(4)}"  # a service holds two keys at most
    key = (await ApiKeys(facade.store).create(service, list(SCOPES))).secret
    # proto given: asyncio sets TCP_NODELAY only on sockets that say IPPROTO_TCP, and
    # without it each answer (headers, then body) waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    app = create_app(EbokClient(facade.temporal, facade.store, settings), settings)
    config = uvicorn.Config(app, log_config=None, log_level="warning", lifespan="off", backlog=1024)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{sock.getsockname()[1]}",
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
            limits=limits,
        ) as http:
            yield HttpFacade(http)
    finally:
        server.should_exit = True
        await task
