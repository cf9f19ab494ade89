"""``Idempotency-Key`` on POSTs: a retry with the same key and body gets the first answer.

Per calling service and key, for 24 hours, the store keeps the first answer: a success, or a
refusal that a retry would meet again (invalid input, not found). Not kept, so a retry runs
again: 401, 403, 409 and 429 (the state may change) and 5xx. Another body under a used key is
409; a retry that arrives while the first request still runs waits for it in this process, or
is told 409 "in progress" if another process of the API runs it. A request that fails with an
unexpected exception releases the key. A request without the header is not affected.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from ebok.store.db import Store
from ebok.store.idempotency import Answer
from entrypoints.api.problems import known, problem
from facade.api_keys import ApiKeys

__all__ = ["HEADER", "KEEP_FOR", "Idempotency", "IdempotentRoute"]

HEADER = "Idempotency-Key"
KEEP_FOR = timedelta(hours=24)
_PURGE_EVERY = timedelta(minutes=1)
_KEY = re.compile(r"[\x21-\x7e]{1,255}")  # visible ASCII, as the IETF draft's examples
_KEPT = range(200, 500)  # answers worth keeping; 5xx and a 429 ask for a retry anyway
_NOT_KEPT = {401, 403, 408, 409, 429}

Handler = Callable[[Request], Coroutine[Any, Any, Response]]

_DOCUMENTED = {
    "parameters": [
        {
            "name": HEADER,
            "in": "header",
            "required": False,
            "schema": {"type": "string", "maxLength": 255},
            "description": (
                "A retry with the same key and body within 24 hours gets the first answer "
                "(header `Idempotent-Replayed: true`) instead of a second effect; another "
                "body under the key is 409."
            ),
        }
    ]
}


def _hash(request: Request, body: bytes) -> str:
    digest = hashlib.sha256()
    url = request.url
    for part in (request.method.encode(), url.path.encode(), url.query.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


class Idempotency:
    def __init__(self, store: Store, keys: ApiKeys) -> None:
        self.store, self.keys = store, keys
        # The key uses running in this process: a retry of one waits for its answer.
        self._running: dict[tuple[str, str], asyncio.Event] = {}
        self._purged = datetime.min.replace(tzinfo=UTC)

    async def run(self, request: Request, key: str, handler: Handler) -> Response:
        if not _KEY.fullmatch(key):
            return problem(400, f"{HEADER}: 1-255 visible ASCII characters", slug="bad-key")
        token = request.headers.get("authorization", "")
        caller = await self.keys.check(token.removeprefix("Bearer ").strip())
        if caller is None:
            return await handler(request)  # the route's own check answers 401
        request.state.api_key = caller  # checked once per request
        request_hash = _hash(request, await request.body())
        which = (caller.service, key)
        while (running := self._running.get(which)) is not None:
            await running.wait()
        done = asyncio.Event()
        self._running[which] = done
        try:
            return await self._once(request, which, request_hash, handler)
        finally:
            del self._running[which]
            done.set()

    async def _once(
        self, request: Request, which: tuple[str, str], request_hash: str, handler: Handler
    ) -> Response:
        service, key = which
        now = datetime.now(UTC)
        async with self.store.begin() as uow:
            if now - self._purged > _PURGE_EVERY:
                self._purged = now
                await uow.idempotency.purge(now - KEEP_FOR)
            seen = await uow.idempotency.claim(service, key, request_hash, now, now - KEEP_FOR)
        if seen is not None:
            if seen.request_hash != request_hash:
                return problem(409, f"{HEADER} was used with another request", slug="key-reused")
            if seen.answer is None:
                return problem(409, "a request with this key is in progress", slug="in-progress")
            return _replay(seen.answer)
        try:
            response = await handler(request)
        except Exception as e:
            # The facade's refusals are answers too (a 422 stays a 422 on a retry).
            answered = await known(request, e)
            if answered is None:
                await self._release(service, key)
                raise
            response = answered
        except BaseException:
            await self._release(service, key)
            raise
        async with self.store.begin() as uow:
            if response.status_code in _KEPT and response.status_code not in _NOT_KEPT:
                media = response.headers.get("content-type", "")
                answer = Answer(response.status_code, media, bytes(response.body))
                await uow.idempotency.complete(service, key, answer)
            else:
                await uow.idempotency.release(service, key)
        return response

    async def _release(self, service: str, key: str) -> None:
        async with self.store.begin() as uow:
            await uow.idempotency.release(service, key)


def _replay(answer: Answer) -> Response:
    return Response(
        answer.body,
        status_code=answer.status_code,
        headers={"Content-Type": answer.media_type, "Idempotent-Replayed": "true"},
    )


class IdempotentRoute(APIRoute):
    """An API route whose POST honours ``Idempotency-Key`` (``app.state.idempotency``)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        methods = kwargs.get("methods") or ()
        if "POST" in methods:
            extra = dict(kwargs.get("openapi_extra") or {})
            extra["parameters"] = [*extra.get("parameters", []), *_DOCUMENTED["parameters"]]
            kwargs["openapi_extra"] = extra
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        if "POST" not in (self.methods or ()):
            return handler

        async def run(request: Request) -> Response:
            key = request.headers.get(HEADER)
            if key is None:
                return await handler(request)
            idempotency: Idempotency = request.app.state.idempotency
            return await idempotency.run(request, key, handler)

        return run
