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

Supply suspensions (PROTOCOL.md has the fields)::

    POST {base}/v1/supply-suspensions                      Idempotency-Key: <our key>
    201 (filed) or 200 (filed before under that key) {"reference", "key", "accepted"}
    POST {base}/v1/supply-suspensions/{reference}/withdrawal   200 or 204, again on a repeat

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
from collections.abc import Collection
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import httpx

from adapters.operator.base import (
    MAX_KEY,
    ContractAnswer,
    ContractQuery,
    ContractStatus,
    ContractType,
    OperatorRejected,
    OperatorUnavailable,
    SuspensionAnswer,
    SuspensionRequest,
)
from adapters.operator.wire import error_for, format_instant, json_object, malformed
from ebok.settings import Settings

__all__ = ["CHECK_PATH", "SUSPENSIONS_PATH", "HttpOperator", "idempotency_key"]

CHECK_PATH = "/v1/distribution-contracts/check"
SUSPENSIONS_PATH = "/v1/supply-suspensions"
ANSWER_FIELDS = ("ppe", "status", "contract_type", "reference")


def idempotency_key(query: ContractQuery, secret: str = "") -> str:
    """The same key for the same question, so the DSO can recognise a retried check.

    Keyed with ``secret`` (the bearer token): gateways log headers more readily than bodies,
    and a plain hash of PPE and PESEL could be reversed by trying every PESEL.
    """
    message = f"distribution-contract\0{query.ppe}\0{query.holder_id}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:40]


def _parse_answer(query: ContractQuery, response: httpx.Response) -> ContractAnswer:
    fields = json_object(response.content)
    body = fields.body
    fields.require(*ANSWER_FIELDS)
    if body["ppe"] != query.ppe:
        raise malformed("it is about another PPE")
    status = fields.choice("status", ContractStatus)
    contract_type = (
        None if body["contract_type"] is None else fields.choice("contract_type", ContractType)
    )
    if not isinstance(body["reference"], str):
        raise malformed("reference is not a string")
    try:
        return ContractAnswer(query.ppe, status, contract_type, body["reference"].strip())
    except ValueError as e:  # inconsistent, e.g. confirmed with a comprehensive contract
        raise malformed(str(e)) from None


def _parse_suspension(request: SuspensionRequest, response: httpx.Response) -> SuspensionAnswer:
    fields = json_object(response.content)
    fields.require("reference", "key", "accepted")
    if fields.text("key") != request.key:
        raise malformed("it is about another key")
    return SuspensionAnswer(fields.reference(), request.key, fields.flag("accepted"))


def _path_segment(reference: str) -> str:
    if not reference or not reference.strip():
        raise ValueError("reference must not be empty")
    return quote(reference, safe="")


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
        self.base = base_url.rstrip("/")
        self.url = self.base + CHECK_PATH
        self.timeout = timeout
        self._token = token
        self._client: httpx.AsyncClient | None = None
        self._closed = False

    def __repr__(self) -> str:  # never shows the token
        return f"HttpOperator({self.base!r}, timeout={self.timeout})"

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

    async def _send(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        key: str | None = None,
        ok: Collection[int] = (200,),
    ) -> httpx.Response:
        """One request; a status outside ``ok`` becomes the port's exception (wire.error_for)."""
        headers = {}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if key is not None:
            headers["Idempotency-Key"] = key
        content = None if body is None else json.dumps(body)
        try:
            response = await self._http().request(
                method, self.base + path, content=content, headers=headers
            )
        except httpx.TimeoutException as e:
            raise OperatorUnavailable(f"DSO did not answer within {self.timeout}") from e
        except httpx.TransportError as e:
            raise OperatorUnavailable(f"DSO unreachable: {type(e).__name__}: {e}") from e
        if response.status_code not in ok:
            raise error_for(response)
        return response

    async def check_distribution_contract(self, query: ContractQuery) -> ContractAnswer:
        response = await self._send(
            "POST",
            CHECK_PATH,
            body={"ppe": query.ppe, "holder_id": query.holder_id},
            key=idempotency_key(query, self._token or ""),
        )
        return _parse_answer(query, response)

    # --- supply suspensions -------------------------------------------------------------------

    async def request_suspension(self, request: SuspensionRequest) -> SuspensionAnswer:
        if len(request.key) > MAX_KEY:
            raise OperatorRejected(f"suspension key longer than {MAX_KEY} characters")
        body = {
            "key": request.key,
            "ppe": request.ppe,
            "invoice_number": request.invoice_number,
            "notice_served_at": format_instant(request.notice_served_at),
            "not_before": format_instant(request.not_before),
        }
        # 201: filed now; 200: filed before under this key (a retry), the same answer.
        response = await self._send(
            "POST", SUSPENSIONS_PATH, body=body, key=request.key, ok=(200, 201)
        )
        return _parse_suspension(request, response)

    async def withdraw_suspension(self, reference: str) -> None:
        path = f"{SUSPENSIONS_PATH}/{_path_segment(reference)}/withdrawal"
        # The body, if any, says nothing the caller needs: withdrawn is withdrawn.
        await self._send("POST", path, ok=(200, 204))

    async def aclose(self) -> None:
        self._closed = True
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()
