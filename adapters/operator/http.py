"""A GridOperator over the DSO's JSON-over-HTTP API (httpx). The protocol, also in PROTOCOL.md::

    POST {base}/v1/distribution-contracts/check
    Authorization: Bearer <token>
    Idempotency-Key: <opaque, stable for the same question>
    Content-Type: application/json

    {"ppe": "590380100001000012", "holder_id": "80010112340"}

    200 {"ppe": "590380100001000012", "status": "confirmed",
         "contract_type": "distribution", "reference": "STO-2026-000123"}

``status`` is confirmed | no_contract | other_party | unknown_ppe; ``contract_type`` is
distribution | comprehensive | null. An unknown PPE is a 200 with ``unknown_ppe``, never a 404.

How answers map onto the port's errors:

- 400, 401, 403, 404, 422 and other 4xx → :class:`OperatorRejected` with the server's message
  (``{"message": "..."}``): the request or our credentials are wrong, a retry will not help;
- 408, 409, 425, 429, 5xx, timeouts, connection errors → :class:`OperatorUnavailable`, with
  ``retry_after`` from a ``Retry-After`` header (seconds or an HTTP date);
- a 200 that is not JSON, lacks a field, has an unknown value, is about another PPE or is
  inconsistent, and any other status → :class:`OperatorProtocolError` (retried, and visible).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any

import httpx

from adapters.operator.base import (
    ContractAnswer,
    ContractQuery,
    ContractStatus,
    ContractType,
    OperatorProtocolError,
    OperatorRejected,
    OperatorUnavailable,
)
from ebok.settings import Settings

__all__ = ["CHECK_PATH", "HttpOperator", "idempotency_key"]

CHECK_PATH = "/v1/distribution-contracts/check"
ANSWER_FIELDS = ("ppe", "status", "contract_type", "reference")
# Statuses that say "not now" rather than "never": the request was fine, the moment was not.
TRANSIENT_4XX = frozenset({408, 409, 425, 429})
MAX_MESSAGE = 200  # of a server's error text quoted in an exception


def idempotency_key(query: ContractQuery, secret: str = "") -> str:
    """The same key for the same question, so the DSO can recognise a retried check.

    Keyed with ``secret`` (the bearer token): gateways log headers more readily than bodies,
    and a plain hash of PPE and PESEL could be reversed by trying every PESEL.
    """
    message = f"distribution-contract\0{query.ppe}\0{query.holder_id}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:40]


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None  # a hint we cannot read is no hint; the caller's back-off applies
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _server_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("message", "error", "detail"):
            if isinstance(body.get(key), str):
                return str(body[key])[:MAX_MESSAGE]
    return response.text.strip()[:MAX_MESSAGE] or response.reason_phrase


def _one_of(value: object, choices: type[StrEnum]) -> bool:
    return isinstance(value, str) and value in {choice.value for choice in choices}


def _parse_answer(query: ContractQuery, response: httpx.Response) -> ContractAnswer:
    def malformed(problem: str) -> OperatorProtocolError:
        return OperatorProtocolError(f"DSO sent a malformed answer: {problem}")

    try:
        body: Any = response.json()
    except ValueError:  # UnicodeDecodeError included
        raise malformed("not JSON") from None
    if not isinstance(body, dict):
        raise malformed("not a JSON object")
    missing = [name for name in ANSWER_FIELDS if name not in body]
    if missing:
        raise malformed(f"missing {', '.join(missing)}")
    if body["ppe"] != query.ppe:
        raise malformed("it is about another PPE")
    if not _one_of(body["status"], ContractStatus):
        raise malformed("unknown status")
    if body["contract_type"] is not None and not _one_of(body["contract_type"], ContractType):
        raise malformed("unknown contract_type")
    if not isinstance(body["reference"], str):
        raise malformed("reference is not a string")
    try:
        return ContractAnswer(
            query.ppe, body["status"], body["contract_type"], body["reference"].strip()
        )
    except ValueError as e:  # inconsistent, e.g. confirmed with a comprehensive contract
        raise malformed(str(e)) from None


class HttpOperator:
    """Client of the DSO API at ``base_url``; the HTTP client is made on first use."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: timedelta = timedelta(seconds=10),
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("operator URL must start with http:// or https://")
        if timeout <= timedelta(0):
            raise ValueError("operator timeout must be positive")
        self.url = base_url.rstrip("/") + CHECK_PATH
        self.timeout = timeout
        self._token = token
        self._client: httpx.AsyncClient | None = None
        self._closed = False

    def __repr__(self) -> str:  # never shows the token
        return f"HttpOperator({self.url!r}, timeout={self.timeout})"

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpOperator:
        if settings.operator_url is None:
            raise ValueError(
                "the http grid-operator adapter needs EBOK_OPERATOR_URL (base URL of the DSO API)"
            )
        token = settings.operator_token
        return cls(
            str(settings.operator_url),
            token=token.get_secret_value() if token is not None else None,
            timeout=settings.operator_timeout,
        )

    def _http(self) -> httpx.AsyncClient:
        if self._closed:
            raise RuntimeError("HttpOperator is closed")
        if self._client is None:
            headers = {"Accept": "application/json", "User-Agent": "ebok-engine"}
            if self._token:
                headers["Authorization"] = f"Bearer {self._token}"
            self._client = httpx.AsyncClient(
                headers=headers, timeout=self.timeout.total_seconds(), follow_redirects=False
            )
        return self._client

    async def check_distribution_contract(self, query: ContractQuery) -> ContractAnswer:
        body = json.dumps({"ppe": query.ppe, "holder_id": query.holder_id})
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": idempotency_key(query, self._token or ""),
        }
        try:
            response = await self._http().post(self.url, content=body, headers=headers)
        except httpx.TimeoutException as e:
            raise OperatorUnavailable(f"DSO did not answer within {self.timeout}") from e
        except httpx.TransportError as e:
            raise OperatorUnavailable(f"DSO unreachable: {type(e).__name__}: {e}") from e
        status = response.status_code
        if status == 200:
            return _parse_answer(query, response)
        if status >= 500 or status in TRANSIENT_4XX:
            raise OperatorUnavailable(
                f"DSO answered {status}: {_server_message(response)}", _retry_after(response)
            )
        if 400 <= status < 500:
            raise OperatorRejected(f"DSO answered {status}: {_server_message(response)}", status)
        raise OperatorProtocolError(f"DSO answered with unexpected status {status}")

    async def aclose(self) -> None:
        self._closed = True
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()
