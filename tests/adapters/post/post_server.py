"""A local hybrid-mail provider speaking adapters/post/PROTOCOL.md, for adapter tests.

::

    async with PostServer(tmp_path, token="t", secret="s") as server:
        post = HttpPost(server.url, token="t", webhook_secret="s")
        server.fail_next(2)                  # two 503s, then real answers
        body, headers = server.postman.deliver(tracking_id, day)   # the signed webhook

Letters are kept by a :class:`SandboxPost` under the same secret, so both adapters agree by
construction; what this server adds is the wire: auth, status codes, headers, bodies.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import web

from adapters.post.base import LetterRequest, PostRejected, Recipient
from adapters.post.http import LETTERS_PATH
from adapters.post.sandbox import SandboxPost
from adapters.post.wire import fate_to_json


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
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


class PostServer:
    def __init__(self, folder: Path, *, token: str, secret: str) -> None:
        self.postman = SandboxPost(folder, secret)
        self.token = token
        self.seen: list[Seen] = []
        self._canned: list[Canned] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    def fail_next(self, n: int = 1, status: int = 503) -> None:
        self._canned += [Canned(status, b'{"message": "try later"}', {})] * n

    def respond_next(self, status: int, body: bytes | str) -> None:
        raw = body.encode() if isinstance(body, str) else body
        self._canned.append(Canned(status, raw, {"Content-Type": "application/json"}))

    async def __aenter__(self) -> PostServer:
        app = web.Application()
        app.router.add_post(LETTERS_PATH, self._send)
        app.router.add_get(LETTERS_PATH + "/{tracking_id}", self._status)
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
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _prologue(self, request: web.Request) -> web.StreamResponse | None:
        self.seen.append(
            Seen(request.method, request.path, dict(request.headers), await request.read())
        )
        if self._canned:
            canned = self._canned.pop(0)
            return web.Response(status=canned.status, body=canned.body, headers=canned.headers)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _message(401, "bad token")
        return None

    async def _send(self, request: web.Request) -> web.StreamResponse:
        early = await self._prologue(request)
        if early is not None:
            return early
        try:
            body = json.loads(self.seen[-1].body)
            to, doc = body["recipient"], body["document"]
            letter = LetterRequest(
                key=body["key"],
                recipient=Recipient(to["name"], to["street"], to["postal_code"], to["city"]),
                document=base64.b64decode(doc["content_base64"], validate=True),
                content_type=doc["content_type"],
                posted_on=date.fromisoformat(body["posted_on"]) if body["posted_on"] else None,
            )
        except (KeyError, TypeError, ValueError, binascii.Error) as e:
            return _message(400, f"bad request: {type(e).__name__}")
        if request.headers.get("Idempotency-Key") != letter.key or body.get("service") != (
            "registered"
        ):
            return _message(422, "Idempotency-Key must repeat key; service must be registered")
        known = [x.tracking_id for x in self.postman.letters() if x.key == letter.key]
        try:
            fate = await self.postman.send_letter(letter)
        except PostRejected as e:
            return _message(e.status_code or 422, str(e))
        return web.json_response(fate_to_json(fate), status=200 if known else 201)

    async def _status(self, request: web.Request) -> web.StreamResponse:
        early = await self._prologue(request)
        if early is not None:
            return early
        try:
            fate = await self.postman.letter_status(request.match_info["tracking_id"])
        except PostRejected:
            return _message(404, "no such letter")
        return web.json_response(fate_to_json(fate))
