"""A PaymentProvider over PayU's REST API v2.1 (httpx, async).

::

    POST /pl/standard/user/oauth/authorize     grant_type=client_credentials (form) → bearer token
    POST /api/v2_1/orders                      create; 302 (or 201) {"orderId", "redirectUri"}
    GET  /api/v2_1/orders/{orderId}            {"orders": [order]}: the status
    GET  /api/v2_1/orders/ext/{extOrderId}     the same, found by our key
    PUT  /api/v2_1/orders/{orderId}/status     {"orderId", "orderStatus": "COMPLETED"}: capture
    DELETE /api/v2_1/orders/{orderId}          cancel
    GET  /api/v2_1/orders/{orderId}/refunds    {"refunds": [...]}
    POST /api/v2_1/orders/{orderId}/refunds    {"refund": {"extRefundId", "amount", ...}}

Our key is PayU's ``extOrderId`` (refunds: ``extRefundId``). A key PayU has already seen
(``ERROR_ORDER_NOT_UNIQUE``) is looked up and that order returned, so a retried activity never
opens a second order; PayU does not give the payment link again then, so ``redirect_url`` is
empty and the caller keeps the link it stored. The token is cached until shortly before it
expires, and fetched again once if PayU answers 401.

Errors: timeouts, connection errors, 5xx, 408, 425 and 429 → :class:`PaymentUnavailable` (with
``Retry-After``); an answer that breaks the API's shape → :class:`PaymentUnavailable` as well
(a retry is right, as for a proxy's error page); other 4xx → :class:`PaymentRejected`.

Notifications carry ``OpenPayU-Signature: sender=…;signature=…;algorithm=…;content=DOCUMENT``,
where ``signature`` is ``algorithm(body + second key)`` in hex: MD5, SHA-1, SHA-256, SHA-384 or
SHA-512, under every spelling PayU's SDK accepts (see ``HASHES``).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, NoReturn
from urllib.parse import quote

import httpx

from adapters.http_answers import retry_after
from adapters.payments.base import (
    CreatedPayment,
    NotificationRejected,
    PaymentNotification,
    PaymentRejected,
    PaymentRequest,
    PaymentState,
    PaymentUnavailable,
    RefundRequest,
    RefundResult,
)
from adapters.payments.notification import (
    ORDER_STATUSES,
    find_signature_header,
    parse_order_notification,
    parse_signature_header,
    signatures_match,
)
from ebok.money import Money
from ebok.settings import Settings

__all__ = ["OAUTH_PATH", "ORDERS_PATH", "PayUPayments"]

OAUTH_PATH = "/pl/standard/user/oauth/authorize"
ORDERS_PATH = "/api/v2_1/orders"
TRANSIENT_4XX = frozenset({408, 425, 429})
NOT_UNIQUE = "ERROR_ORDER_NOT_UNIQUE"
# Every algorithm label PayU's own SDK accepts in OpenPayU-Signature, read from
# PayU-EMEA/openpayu_php lib/OpenPayU/Util.php (verifySignature with toHashAlgorithm): MD5,
# SHA1/SHA-1, SHA256/SHA-256, SHA384/SHA-384 and SHA512/SHA-512; the signature is
# hash(body + second key) in hex. "SHA" alone meant SHA-1 in that SDK before its April 2026
# release and means SHA-256 since: a SHA-1 digest has 40 hex digits and a SHA-256 one 64, so the
# signature's length tells which one a sender meant, and both are believed.
HASHES: Mapping[str, tuple[str, ...]] = {  # label → hashlib names
    "MD5": ("md5",),  # PayU's default; its weakness matters little with a secret suffix
    "SHA": ("sha1", "sha256"),
    "SHA1": ("sha1",),
    "SHA-1": ("sha1",),
    "SHA256": ("sha256",),
    "SHA-256": ("sha256",),
    "SHA384": ("sha384",),
    "SHA-384": ("sha384",),
    "SHA512": ("sha512",),
    "SHA-512": ("sha512",),
}
MAX_MESSAGE = 200
# PayU requires ``customerIp`` on every order (the payer's address; its SDK's README fills it
# from the request's REMOTE_ADDR). An order the engine makes with no customer present (the link
# mailed with the invoice) has no payer's address: PayU's own SDK sends the loopback address
# where it creates an order from a server (PayU-EMEA/openpayu_php
# examples/v2/order/OrderCreate.php and tests/unit/v2/OpenPayU_OrderTest.php), and PayU's
# documentation gives no other value for that case, so the same is sent.
SERVER_MADE_ORDER_IP = "127.0.0.1"


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _payu_status(response: httpx.Response) -> tuple[str, str]:
    """PayU's ``status.statusCode`` and a short description of an answer (for messages)."""
    status = _json(response).get("status")
    if isinstance(status, dict) and isinstance(status.get("statusCode"), str):
        desc = status.get("statusDesc") or status.get("codeLiteral") or ""
        return status["statusCode"], str(desc)[:MAX_MESSAGE]
    return "", response.text.strip()[:MAX_MESSAGE] or response.reason_phrase


def _malformed(problem: str) -> PaymentUnavailable:
    return PaymentUnavailable(f"PayU sent a malformed answer: {problem}")


def _grosze(value: Any) -> Money:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.isascii() or not value.isdigit() or len(value) > 15:
        raise _malformed("amount is not whole grosze")
    return Money(int(value))


def _state(order: Any) -> PaymentState:
    if not isinstance(order, dict):
        raise _malformed("order is not an object")
    ref, key, status = order.get("orderId"), order.get("extOrderId"), order.get("status")
    if not isinstance(ref, str) or not ref or not isinstance(key, str):
        raise _malformed("order without orderId or extOrderId")
    if not isinstance(status, str) or status not in ORDER_STATUSES:
        raise _malformed("unknown order status")
    if order.get("currencyCode") != "PLN":
        raise _malformed("order is not in PLN")
    return PaymentState(key, ref, ORDER_STATUSES[status], _grosze(order.get("totalAmount")))


def _refund_result(key: str, refund: Any) -> RefundResult:
    if not isinstance(refund, dict) or not isinstance(refund.get("refundId"), str):
        raise _malformed("refund without refundId")
    return RefundResult(key, refund["refundId"], str(refund.get("status") or "PENDING"))


class PayUPayments:
    """PayU at ``base_url`` for one point of sale; the HTTP client is made on first use."""

    def __init__(
        self,
        base_url: str,
        *,
        pos_id: str,
        client_id: str,
        client_secret: str,
        second_key: str,
        notify_url: str,
        timeout: timedelta = timedelta(seconds=10),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("PayU URL must start with http:// or https://")
        if not (pos_id and client_id and client_secret and second_key and notify_url):
            raise ValueError("PayU needs pos id, client id, client secret, second key, notify url")
        self.base_url = base_url.rstrip("/")
        self.pos_id, self.notify_url, self.timeout = pos_id, notify_url, timeout
        self._client_id, self._client_secret = client_id, client_secret
        self._second_key = second_key.encode()
        self._clock = clock
        self._token: tuple[str, float] | None = None  # (token, expires at on the clock)
        self._token_lock = asyncio.Lock()
        self._client: httpx.AsyncClient | None = None
        self._closed = False

    def __repr__(self) -> str:  # never shows the secrets
        return f"PayUPayments({self.base_url!r}, pos_id={self.pos_id!r})"

    @classmethod
    def from_settings(cls, settings: Settings) -> PayUPayments:
        missing = [
            f"EBOK_{name.upper()}"
            for name in ("payu_pos_id", "payu_client_id", "payu_client_secret")
            + ("payu_second_key", "payu_notify_url")
            if getattr(settings, name) is None
        ]
        if missing:
            raise ValueError(f"the payu payments adapter needs {', '.join(missing)}")
        assert settings.payu_client_secret and settings.payu_second_key  # checked just above
        return cls(
            str(settings.payu_url),
            pos_id=str(settings.payu_pos_id),
            client_id=str(settings.payu_client_id),
            client_secret=settings.payu_client_secret.get_secret_value(),
            second_key=settings.payu_second_key.get_secret_value(),
            notify_url=str(settings.payu_notify_url),
            timeout=settings.payu_timeout,
        )

    # --- HTTP -----------------------------------------------------------------------------------

    def _http(self) -> httpx.AsyncClient:
        if self._closed:
            raise RuntimeError("PayUPayments is closed")
        if self._client is None:
            self._client = httpx.AsyncClient(
                base_url=self.base_url,
                headers={"Accept": "application/json", "User-Agent": "ebok-engine"},
                timeout=self.timeout.total_seconds(),
                follow_redirects=False,  # the 302 of order creation is the answer itself
            )
        return self._client

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self._http().request(method, path, **kwargs)
        except httpx.TimeoutException as e:
            raise PaymentUnavailable(f"PayU did not answer within {self.timeout}") from e
        except httpx.TransportError as e:
            raise PaymentUnavailable(f"PayU unreachable: {type(e).__name__}: {e}") from e

    def _fail(self, response: httpx.Response, what: str) -> NoReturn:
        status = response.status_code
        code, desc = _payu_status(response)
        message = f"PayU {what}: {status} {code} {desc}".rstrip()
        if status >= 500 or status in TRANSIENT_4XX:
            raise PaymentUnavailable(message, retry_after(response))
        if 400 <= status < 500:
            raise PaymentRejected(message, status)
        raise _malformed(f"{what}: unexpected status {status}")

    async def _access_token(self) -> str:
        async with self._token_lock:  # one fetch for many concurrent callers
            if self._token is not None and self._clock() < self._token[1]:
                return self._token[0]
            form = {
                "grant_type": "client_credentials",
                "client_id": self._client_id,
                "client_secret": self._client_secret,
            }
            response = await self._request("POST", OAUTH_PATH, data=form)
            if response.status_code != 200:
                self._fail(response, "authorization")
            body = _json(response)
            token, ttl = body.get("access_token"), body.get("expires_in")
            if not isinstance(token, str) or not token or not isinstance(ttl, int | float):
                raise _malformed("authorization without access_token or expires_in")
            # Renew a little early, so a token never expires between our check and PayU's.
            self._token = (token, self._clock() + ttl - min(60.0, ttl / 2))
            return token

    async def _api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """An authorized call; a 401 (token revoked or expired early) fetches a new one once."""
        for attempt in (1, 2):
            token = await self._access_token()
            headers = {"Authorization": f"Bearer {token}"}
            response = await self._request(method, path, headers=headers, **kwargs)
            if response.status_code != 401 or attempt == 2:
                return response
            if self._token is not None and self._token[0] == token:
                self._token = None
        raise AssertionError("unreachable")

    # --- the port -------------------------------------------------------------------------------

    async def create_payment(self, request: PaymentRequest) -> CreatedPayment:
        grosze = str(request.amount.grosze)
        order: dict[str, Any] = {
            "extOrderId": request.key,
            "notifyUrl": self.notify_url,
            "continueUrl": request.continue_url,
            "customerIp": request.customer_ip or SERVER_MADE_ORDER_IP,
            "merchantPosId": self.pos_id,
            "description": request.description,
            "currencyCode": "PLN",
            "totalAmount": grosze,
            "products": [
                {"name": f"Faktura {request.invoice_number}", "unitPrice": grosze, "quantity": "1"}
            ],
        }
        if request.customer_email:
            order["buyer"] = {"email": request.customer_email, "language": request.language}
        response = await self._api("POST", ORDERS_PATH, json=order)
        if response.status_code in (200, 201, 302):
            body = _json(response)
            ref = body.get("orderId")
            redirect = body.get("redirectUri") or response.headers.get("Location")
            if not isinstance(ref, str) or not ref or not isinstance(redirect, str):
                raise _malformed("order created without orderId or redirectUri")
            return CreatedPayment(request.key, ref, redirect)
        if 400 <= response.status_code < 500 and _payu_status(response)[0] == NOT_UNIQUE:
            found = await self._order_by_key(request.key)
            if found.amount != request.amount:
                raise PaymentRejected("PayU: key already used for another amount", 409)
            return CreatedPayment(request.key, found.provider_ref, "")
        self._fail(response, "order creation")

    async def _order_by_key(self, key: str) -> PaymentState:
        response = await self._api("GET", f"{ORDERS_PATH}/ext/{quote(key, safe='')}")
        return self._one_order(response, "order lookup by key")

    def _one_order(self, response: httpx.Response, what: str) -> PaymentState:
        if response.status_code != 200:
            self._fail(response, what)
        orders = _json(response).get("orders")
        if not isinstance(orders, list) or not orders:
            raise _malformed(f"{what}: no orders")
        return _state(orders[0])

    async def payment_status(self, provider_ref: str) -> PaymentState:
        response = await self._api("GET", f"{ORDERS_PATH}/{quote(provider_ref, safe='')}")
        return self._one_order(response, "order status")

    async def refund(self, request: RefundRequest) -> RefundResult:
        path = f"{ORDERS_PATH}/{quote(request.provider_ref, safe='')}/refunds"
        done = await self._refund_by_key(path, request)
        if done is not None:
            return done
        refund = {
            "extRefundId": request.key,
            "amount": str(request.amount.grosze),
            "currencyCode": "PLN",
            "description": request.description,
        }
        response = await self._api("POST", path, json={"refund": refund})
        if response.status_code == 200:
            return _refund_result(request.key, _json(response).get("refund"))
        if 400 <= response.status_code < 500:
            # A twin attempt may have won the race between our lookup and this request.
            done = await self._refund_by_key(path, request)
            if done is not None:
                return done
        self._fail(response, "refund")

    async def capture_payment(self, provider_ref: str) -> None:
        # The order status update: "capture each order with PUT, or cancel it with DELETE"
        # (developers.payu.com/europe/pl/docs/payment-flows/lifecycle), as PayU's SDK sends it
        # (PayU-EMEA/openpayu_php OpenPayU_Order::statusUpdate). PayU's newer pages describe an
        # empty POST to …/captures as well; the status update is the one both name.
        path = f"{ORDERS_PATH}/{quote(provider_ref, safe='')}/status"
        body = {"orderId": provider_ref, "orderStatus": "COMPLETED"}
        response = await self._api("PUT", path, json=body)
        await self._settled(response, provider_ref, "COMPLETED", "capture")

    async def cancel_payment(self, provider_ref: str) -> None:
        # PayU's order cancellation (PayU-EMEA/openpayu_php OpenPayU_Order::cancel).
        path = f"{ORDERS_PATH}/{quote(provider_ref, safe='')}"
        response = await self._api("DELETE", path)
        await self._settled(response, provider_ref, "CANCELED", "cancellation")

    async def _settled(
        self, response: httpx.Response, provider_ref: str, wanted: str, what: str
    ) -> None:
        """A capture or cancellation answered: done, or refused because the order is there
        already (a twin call won: no error), or refused."""
        if response.status_code == 200:
            return
        if 400 <= response.status_code < 500 and response.status_code not in TRANSIENT_4XX:
            state = await self.payment_status(provider_ref)
            if state.status is ORDER_STATUSES[wanted]:
                return
        self._fail(response, what)

    async def _refund_by_key(self, path: str, request: RefundRequest) -> RefundResult | None:
        response = await self._api("GET", path)
        if response.status_code != 200:
            self._fail(response, "refund lookup")
        refunds = _json(response).get("refunds", [])
        if not isinstance(refunds, list):
            raise _malformed("refunds is not a list")
        for refund in refunds:
            if isinstance(refund, dict) and refund.get("extRefundId") == request.key:
                if _grosze(refund.get("amount")) != request.amount:
                    raise PaymentRejected("PayU: refund key already used for another amount", 409)
                return _refund_result(request.key, refund)
        return None

    async def verify_notification(
        self, body: bytes, headers: Mapping[str, str]
    ) -> PaymentNotification:
        header = parse_signature_header(find_signature_header(headers))
        digests = HASHES.get(header.algorithm)
        if digests is None:
            raise NotificationRejected(f"unsupported signature algorithm {header.algorithm[:16]}")
        if not isinstance(body, bytes):
            raise NotificationRejected("body must be the raw bytes received")
        # The digest whose length is the signature's; the length is no secret (it is the
        # algorithm's), and the comparison itself is constant time.
        sized = [n for n in digests if hashlib.new(n).digest_size * 2 == len(header.signature)]
        signed = body + self._second_key
        if not sized or not signatures_match(hashlib.new(sized[0], signed).hexdigest(), header):
            raise NotificationRejected("signature does not match")
        return parse_order_notification(body)

    async def aclose(self) -> None:
        self._closed = True
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()
