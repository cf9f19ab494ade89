"""A local DSO API speaking adapters/operator/PROTOCOL.md, for adapter and workflow tests.

::

    async with DsoServer(rows, token="s3cret") as dso:
        operator = HttpOperator(dso.url, token="s3cret")
        dso.fail_next(2)                      # two 503s, then real answers
        dso.delay = timedelta(seconds=1)      # answer late

Answers come from a :class:`SandboxOperator` over the same registry rows, so the HTTP path and
the sandbox agree by construction; what this server adds is the wire: auth, status codes,
headers and malformed bodies.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp import web

from adapters.operator.base import (
    ContractQuery,
    IncidentStatus,
    OperatorError,
    OperatorRejected,
    SuspensionRequest,
    TicketRequest,
)
from adapters.operator.http import (
    CHECK_PATH,
    INCIDENTS_PATH,
    OUTAGES_PATH,
    SUSPENSIONS_PATH,
    TICKETS_PATH,
)
from adapters.operator.sandbox import RegistryRow, SandboxOperator
from adapters.operator.webhook import encode_notification, status_to_json
from adapters.operator.wire import format_instant
from ebok.ids import InvalidIdentifier


@dataclass(frozen=True)
class Seen:
    """A request as the server received it."""

    headers: dict[str, str]
    body: bytes
    method: str = "POST"
    path: str = CHECK_PATH

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Canned:
    status: int
    body: bytes
    headers: dict[str, str]


def _message(status: int, message: str) -> web.Response:
    return web.json_response({"message": message}, status=status)


class DsoServer:
    """A real HTTP server on 127.0.0.1 and a free port; ``url`` is its base URL."""

    def __init__(
        self,
        rows: Iterable[RegistryRow],
        *,
        token: str | None = None,
        registry: SandboxOperator | None = None,
        webhook_secret: str | None = None,
    ) -> None:
        # The DSO's own state; give a sandbox to share (and drive) its simulation from a test.
        self.registry = registry if registry is not None else SandboxOperator(rows)
        self.token = token
        self.delay = timedelta(0)  # before every answer, canned ones included
        self.requests: list[Seen] = []
        self._canned: list[Canned] = []
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""
        # Status changes of the simulation are POSTed, signed, to webhook_url once it is set.
        self.webhook_secret = webhook_secret
        self.webhook_url: str | None = None
        self.pushes: list[int] = []  # the receiver's answers
        if webhook_secret is not None:
            self.registry.simulation.on_status = self._push

    def respond_next(
        self,
        n: int = 1,
        *,
        status: int = 200,
        body: bytes | str | dict[str, Any] = b"",
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next ``n`` requests with this response instead of the registry's."""
        raw = json.dumps(body).encode() if isinstance(body, dict) else body
        raw = raw.encode() if isinstance(raw, str) else raw
        content_type = {"Content-Type": "application/json"}
        self._canned.extend(Canned(status, raw, content_type | (headers or {})) for _ in range(n))

    def fail_next(self, n: int = 1, status: int = 503, retry_after: str | None = None) -> None:
        """Answer the next ``n`` requests with ``status`` (and ``Retry-After`` if given)."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        body = {"message": f"injected {status}"}
        self.respond_next(n, status=status, body=body, headers=headers)

    async def __aenter__(self) -> DsoServer:
        app = web.Application()
        app.router.add_post(CHECK_PATH, self._check)
        app.router.add_post(SUSPENSIONS_PATH, self._file_suspension)
        app.router.add_post(SUSPENSIONS_PATH + "/{reference}/withdrawal", self._withdraw_suspension)
        app.router.add_get(OUTAGES_PATH, self._lookup)
        app.router.add_post(TICKETS_PATH, self._open_ticket)
        app.router.add_get(INCIDENTS_PATH + "/{reference}", self._status)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closing.set()  # delayed handlers return at once instead of holding shutdown up
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _prologue(self, request: web.Request) -> web.StreamResponse | None:
        """Record, delay, canned answers and auth, for every route; None when the route goes on."""
        body = await request.read()
        self.requests.append(Seen(dict(request.headers), body, request.method, request.path))
        if self.delay:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self.delay.total_seconds())
        if self._canned:
            canned = self._canned.pop(0)
            return web.Response(status=canned.status, body=canned.body, headers=canned.headers)
        if self.token is not None and request.headers.get("Authorization") != (
            f"Bearer {self.token}"
        ):
            return _message(401, "invalid or missing bearer token")
        return None

    async def _check(self, request: web.Request) -> web.StreamResponse:
        if (early := await self._prologue(request)) is not None:
            return early
        try:
            data = json.loads(await request.read())
            query = ContractQuery(data["ppe"], data["holder_id"])
        except InvalidIdentifier as e:
            return _message(422, str(e))
        except (ValueError, KeyError, TypeError, AttributeError):
            return _message(400, "body must be JSON with ppe and holder_id")
        answer = await self.registry.check_distribution_contract(query)
        return web.json_response(
            {
                "ppe": answer.ppe,
                "status": answer.status.value,
                "contract_type": answer.contract_type.value if answer.contract_type else None,
                "reference": answer.reference,
            }
        )

    async def _file_suspension(self, request: web.Request) -> web.StreamResponse:
        if (early := await self._prologue(request)) is not None:
            return early
        try:
            data = json.loads(await request.read())
            suspension = SuspensionRequest(
                key=data["key"],
                ppe=data["ppe"],
                invoice_number=data["invoice_number"],
                notice_served_at=datetime.fromisoformat(data["notice_served_at"]),
                not_before=datetime.fromisoformat(data["not_before"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as e:  # InvalidIdentifier too
            return _message(422 if isinstance(e, ValueError) else 400, str(e))
        if request.headers.get("Idempotency-Key") != suspension.key:
            return _message(400, "Idempotency-Key must repeat the key")
        known = suspension.key in self.registry.simulation.suspensions
        try:
            answer = await self.registry.request_suspension(suspension)
        except OperatorError as e:
            return _error(e)
        body = {"reference": answer.reference, "key": answer.key, "accepted": answer.accepted}
        return web.json_response(body, status=200 if known else 201)

    async def _withdraw_suspension(self, request: web.Request) -> web.StreamResponse:
        if (early := await self._prologue(request)) is not None:
            return early
        try:
            await self.registry.withdraw_suspension(request.match_info["reference"])
        except OperatorError as e:
            return _error(e)
        return web.Response(status=204)

    async def _lookup(self, request: web.Request) -> web.StreamResponse:
        if (early := await self._prologue(request)) is not None:
            return early
        try:
            found = await self.registry.lookup_outage(request.query.get("ppe", ""))
        except OperatorError as e:
            return _error(e)
        outage = found.outage
        return web.json_response(
            {
                "ppe": found.ppe,
                "area": found.area,
                "outage": None
                if outage is None
                else {
                    "reference": outage.reference,
                    "kind": outage.kind.value,
                    "area": outage.area,
                    "state": outage.state.value,
                    "started_at": format_instant(outage.started_at),
                    "expected_restoration": _instant(outage.expected_restoration),
                    "window_end": _instant(outage.window_end),
                },
            }
        )

    async def _open_ticket(self, request: web.Request) -> web.StreamResponse:
        if (early := await self._prologue(request)) is not None:
            return early
        try:
            data = json.loads(await request.read())
            ticket = TicketRequest(
                key=data["key"],
                ppe=data["ppe"],
                area=data["area"],
                reported_at=datetime.fromisoformat(data["reported_at"]),
                description=data["description"],
            )
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            return _message(422 if isinstance(e, ValueError) else 400, str(e))
        if request.headers.get("Idempotency-Key") != ticket.key:
            return _message(400, "Idempotency-Key must repeat the key")
        known = ticket.key in self.registry.simulation.tickets
        try:
            opened = await self.registry.open_ticket(ticket)
        except OperatorError as e:
            return _error(e)
        body = {"reference": opened.reference, "key": opened.key, "state": opened.state.value}
        return web.json_response(body, status=200 if known else 201)

    async def _status(self, request: web.Request) -> web.StreamResponse:
        if (early := await self._prologue(request)) is not None:
            return early
        try:
            status = await self.registry.ticket_status(request.match_info["reference"])
        except OperatorError as e:
            return _error(e)
        return web.json_response(status_to_json(status))

    async def _push(self, status: IncidentStatus) -> None:
        if self.webhook_url is None or self.webhook_secret is None:
            return
        body, headers = encode_notification(status, self.webhook_secret)
        async with aiohttp.ClientSession() as session:
            async with session.post(self.webhook_url, data=body, headers=headers) as answer:
                self.pushes.append(answer.status)


def _instant(moment: datetime | None) -> str | None:
    return None if moment is None else format_instant(moment)


def _error(e: OperatorError) -> web.Response:
    """The status a DSO would answer with for what the sandbox raised."""
    if isinstance(e, OperatorRejected):
        return _message(e.status_code or 422, str(e))
    return _message(503, str(e))
