"""A PostalService over a hybrid-mail provider's REST API (httpx); PROTOCOL.md describes it::

    POST {base}/v1/letters          Idempotency-Key: <our key>
    201 (posted now) or 200 (posted before under that key): the letter
    GET  {base}/v1/letters/{tracking_id}                    200: the letter, 404: unknown

and the provider's signed notifications (``X-Post-Signature: sha256=<hex HMAC of the body>``)
checked by :meth:`HttpPost.verify_notification`. Statuses map onto the port's errors as the
grid-operator adapter's do: other 4xx → PostRejected, 408/409/425/429/5xx/timeouts →
PostUnavailable, anything outside the protocol → PostProtocolError.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Collection, Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import httpx

from adapters.post.base import (
    LetterFate,
    LetterRequest,
    PostProtocolError,
    PostRejected,
    PostUnavailable,
)
from adapters.post.wire import error_for, fate_from_json, verify_notification
from ebok.settings import Settings

__all__ = ["LETTERS_PATH", "HttpPost"]

LETTERS_PATH = "/v1/letters"


class HttpPost:
    """Client of the provider at ``base_url``; the HTTP client is made on first use."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: timedelta = timedelta(seconds=10),
        webhook_secret: str | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("post URL must start with http:// or https://")
        if timeout <= timedelta(0):
            raise ValueError("post timeout must be positive")
        self.base = base_url.rstrip("/")
        self.timeout = timeout
        self._token = token
        self._webhook_secret = webhook_secret or ""
        self._client: httpx.AsyncClient | None = None
        self._closed = False

    def __repr__(self) -> str:  # never shows the token
        return f"HttpPost({self.base!r}, timeout={self.timeout})"

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpPost:
        if settings.post_url is None:
            raise ValueError("the http postal adapter needs EBOK_POST_URL (the provider's API)")
        token, secret = settings.post_token, settings.post_webhook_secret
        return cls(
            str(settings.post_url),
            token=token.get_secret_value() if token else None,
            webhook_secret=secret.get_secret_value() if secret else None,
            timeout=settings.post_timeout,
        )

    def _http(self) -> httpx.AsyncClient:
        if self._closed:
            raise RuntimeError("HttpPost is closed")
        if self._client is None:
            headers = {"Accept": "application/json", "User-Agent": "ebok-engine"}
            if self._token:
                headers["Authorization"] = f"Bearer {self._token}"
            self._client = httpx.AsyncClient(
                headers=headers, timeout=self.timeout.total_seconds(), follow_redirects=False
            )
        return self._client

    async def _send(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        key: str | None = None,
        ok: Collection[int] = (200,),
    ) -> httpx.Response:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if key is not None:
            headers["Idempotency-Key"] = key
        try:
            response = await self._http().request(
                method,
                self.base + path,
                content=None if body is None else json.dumps(body),
                headers=headers,
            )
        except httpx.TimeoutException as e:
            raise PostUnavailable(f"provider did not answer within {self.timeout}") from e
        except httpx.TransportError as e:
            raise PostUnavailable(f"provider unreachable: {type(e).__name__}") from e
        if response.status_code not in ok:
            raise error_for(response)
        return response

    async def send_letter(self, request: LetterRequest) -> LetterFate:
        r = request.recipient
        body = {
            "key": request.key,
            "service": "registered",
            "recipient": {
                "name": r.name,
                "street": r.street,
                "postal_code": r.postal_code,
                "city": r.city,
                "country": "PL",
            },
            "document": {
                "content_type": request.content_type,
                "content_base64": base64.b64encode(request.document).decode("ascii"),
            },
            "posted_on": request.posted_on.isoformat() if request.posted_on else None,
        }
        response = await self._send("POST", LETTERS_PATH, body=body, key=request.key, ok=(200, 201))
        fate = fate_from_json(response.content)
        if fate.key != request.key:
            raise PostProtocolError("provider sent a malformed answer: about another key")
        return fate

    async def letter_status(self, tracking_id: str) -> LetterFate:
        if not tracking_id.strip():
            raise PostRejected("tracking id must not be empty")
        path = f"{LETTERS_PATH}/{quote(tracking_id, safe='')}"
        fate = fate_from_json((await self._send("GET", path)).content)
        if fate.tracking_id != tracking_id:
            raise PostProtocolError("provider sent a malformed answer: about another letter")
        return fate

    async def verify_notification(self, body: bytes, headers: Mapping[str, str]) -> LetterFate:
        return verify_notification(body, headers, self._webhook_secret)

    async def aclose(self) -> None:
        self._closed = True
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()
