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
from datetime import timedelta
from types import TracebackType
from typing import Any

from aiohttp import web

from adapters.operator.base import ContractQuery
from adapters.operator.http import CHECK_PATH
from adapters.operator.sandbox import RegistryRow, SandboxOperator
from ebok.ids import InvalidIdentifier


@dataclass(frozen=True)
class Seen:
    """A request as the server received it."""

    headers: dict[str, str]
    body: bytes

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

    def __init__(self, rows: Iterable[RegistryRow], *, token: str | None = None) -> None:
        self.registry = SandboxOperator(rows)
        self.token = token
        self.delay = timedelta(0)  # before every answer, canned ones included
        self.requests: list[Seen] = []
        self._canned: list[Canned] = []
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

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

    async def _check(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.requests.append(Seen(dict(request.headers), body))
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
        try:
            data = json.loads(body)
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
