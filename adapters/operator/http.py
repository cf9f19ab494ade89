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

Outages: ``GET /v1/outages?ppe=`` (area and known outage), ``POST /v1/outage-tickets``
(Idempotency-Key; 201 or 200), ``GET /v1/incidents/{reference}`` (status); the DSO's signed
status webhooks are checked by :meth:`HttpOperator.verify_status_notification` (webhook.py).

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
from collections.abc import Collection, Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from adapters.operator.base import (
    MAX_KEY,
    ContractAnswer,
    ContractQuery,
    ContractStatus,
    ContractType,
    IncidentState,
    IncidentStatus,
    KnownOutage,
    OperatorRejected,
    OperatorUnavailable,
    OutageKind,
    OutageLookup,
    OutageTicket,
    SuspensionAnswer,
    SuspensionRequest,
    TicketRequest,
)
from adapters.operator.webhook import parse_status, verify_status
from adapters.operator.wire import Fields, error_for, format_instant, json_object, malformed
from ebok.ids import InvalidIdentifier, normalize_ppe
from ebok.settings import Settings

__all__ = [
    "CHECK_PATH",
    "INCIDENTS_PATH",
    "OUTAGES_PATH",
    "SUSPENSIONS_PATH",
    "TICKETS_PATH",
    "HttpOperator",
    "idempotency_key",
]

CHECK_PATH = "/v1/distribution-contracts/check"
SUSPENSIONS_PATH = "/v1/supply-suspensions"
OUTAGES_PATH = "/v1/outages"
TICKETS_PATH = "/v1/outage-tickets"
INCIDENTS_PATH = "/v1/incidents"
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


def _parse_lookup(ppe: str, response: httpx.Response) -> OutageLookup:
    fields = json_object(response.content)
    fields.require("ppe", "area", "outage")
    if fields.body["ppe"] != ppe:
        raise malformed("it is about another PPE")
    area = fields.reference("area")
    raw = fields.body["outage"]
    if raw is None:
        return OutageLookup(ppe, area, None)
    if not isinstance(raw, dict):
        raise malformed("outage is not an object or null")
    outage = Fields(raw)
    outage.require("reference", "kind", "state", "started_at")
    known = KnownOutage(
        reference=outage.reference(),
        kind=outage.choice("kind", OutageKind),
        area=outage.text("area", optional=True) or area,
        state=outage.choice("state", IncidentState),
        started_at=outage.required_instant("started_at"),
        expected_restoration=outage.instant("expected_restoration", optional=True),
        window_end=outage.instant("window_end", optional=True),
    )
    return OutageLookup(ppe, area, known)


def _parse_ticket(request: TicketRequest, response: httpx.Response) -> OutageTicket:
    fields = json_object(response.content)
    fields.require("reference", "key", "state")
    if fields.text("key") != request.key:
        raise malformed("it is about another key")
    return OutageTicket(fields.reference(), request.key, fields.choice("state", IncidentState))


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
        webhook_secret: str | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("operator URL must start with http:// or https://")
        if timeout <= timedelta(0):
            raise ValueError("operator timeout must be positive")
        self.base = base_url.rstrip("/")
        self.url = self.base + CHECK_PATH
        self.timeout = timeout
        self._token = token
        self._webhook_secret = webhook_secret
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
        token, secret = settings.operator_token, settings.operator_webhook_secret
        return cls(
            str(settings.operator_url),
            token=token.get_secret_value() if token is not None else None,
            webhook_secret=secret.get_secret_value() if secret is not None else None,
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

    # --- outages ------------------------------------------------------------------------------

    async def lookup_outage(self, ppe: str) -> OutageLookup:
        try:
            ppe = normalize_ppe(ppe)
        except InvalidIdentifier as e:  # the DSO would refuse it; no need to ask
            raise OperatorRejected(str(e)) from None
        response = await self._send("GET", f"{OUTAGES_PATH}?{urlencode({'ppe': ppe})}")
        return _parse_lookup(ppe, response)

    async def open_ticket(self, request: TicketRequest) -> OutageTicket:
        if len(request.key) > MAX_KEY:
            raise OperatorRejected(f"ticket key longer than {MAX_KEY} characters")
        body = {
            "key": request.key,
            "ppe": request.ppe,
            "area": request.area,
            "reported_at": format_instant(request.reported_at),
            "description": request.description,
        }
        # 201: opened now; 200: opened before under this key, its current state.
        response = await self._send("POST", TICKETS_PATH, body=body, key=request.key, ok=(200, 201))
        return _parse_ticket(request, response)

    async def ticket_status(self, reference: str) -> IncidentStatus:
        response = await self._send("GET", f"{INCIDENTS_PATH}/{_path_segment(reference)}")
        status = parse_status(json_object(response.content))
        if status.reference != reference:
            raise malformed("it is about another incident")
        return status

    def verify_status_notification(self, body: bytes, headers: Mapping[str, str]) -> IncidentStatus:
        """The status a DSO webhook carries, once its signature checks out (constant time);
        :class:`NotificationRejected` otherwise, naming why (see ``webhook.py``)."""
        return verify_status(body, headers, self._webhook_secret or "")

    async def aclose(self) -> None:
        self._closed = True
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()
