"""A local PayU REST API v2.1, for adapter tests (aiohttp, a real socket on 127.0.0.1).

::

    async with PayUServer() as payu:
        provider = PayUPayments(payu.url, **payu.credentials(), notify_url=...)
        payu.fail_next(1, 503)                        # the next API call answers 503
        payu.set_status(order_id, "COMPLETED")        # the customer paid
        body, headers = payu.notification(order_id)   # what PayU would POST to notifyUrl

It keeps orders and refunds in memory, issues bearer tokens that expire after ``token_ttl``
seconds, and answers like PayU: 302 + JSON for a new order, ``ERROR_ORDER_NOT_UNIQUE`` for an
``extOrderId`` seen before, ``{"orders": [...]}`` for lookups, ``{"status": {...}}`` errors;
an order set to ``WAITING_FOR_CONFIRMATION`` is captured (``PUT …/status``) or cancelled
(``DELETE``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import json
import secrets
import string
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

from aiohttp import web

from adapters.payments.payu import OAUTH_PATH, ORDERS_PATH

POS_ID, CLIENT_ID = "300746", "300746"
CLIENT_SECRET, SECOND_KEY = "2ee86a66e5d97e3fadc400c9f19b065d", "b6ca15b0d1020e8094d9b5f8d163db54"
# The labels PayU's SDK accepts (see adapters/payments/payu.py); "SHA" signs as SHA-256 here,
# as the SDK's current release reads it.
HASHES = {
    "MD5": hashlib.md5,
    "SHA": hashlib.sha256,
    "SHA1": hashlib.sha1,
    "SHA-1": hashlib.sha1,
    "SHA256": hashlib.sha256,
    "SHA-256": hashlib.sha256,
    "SHA384": hashlib.sha384,
    "SHA-384": hashlib.sha384,
    "SHA512": hashlib.sha512,
    "SHA-512": hashlib.sha512,
}


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
    prefix: str
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


def _error(http: int, code: str, desc: str = "") -> web.Response:
    return web.json_response({"status": {"statusCode": code, "statusDesc": desc}}, status=http)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class PayUServer:
    """``url`` is the base URL once entered; ``orders``/``refunds`` are the server's state."""

    def __init__(self, *, token_ttl: int = 43199) -> None:
        self.token_ttl = token_ttl
        self.tokens: dict[str, float] = {}  # token → expires at (monotonic)
        self.tokens_issued = 0
        self.orders: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, list[dict[str, Any]]] = {}
        self.requests: list[Seen] = []
        self.delay = timedelta(0)
        self._canned: list[Canned] = []
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    def credentials(self) -> dict[str, str]:
        return {
            "pos_id": POS_ID,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "second_key": SECOND_KEY,
        }

    # --- steering from tests --------------------------------------------------------------------

    def respond_next(
        self,
        n: int = 1,
        *,
        status: int,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        prefix: str = "/api/",
    ) -> None:
        """Answer the next ``n`` requests whose path starts with ``prefix`` with this instead."""
        canned = Canned(prefix, status, body or {}, headers or {})
        self._canned.extend(canned for _ in range(n))

    def fail_next(
        self, n: int = 1, status: int = 503, retry_after: str | None = None, prefix: str = "/api/"
    ) -> None:
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        body = {"status": {"statusCode": "ERROR_INTERNAL", "statusDesc": f"injected {status}"}}
        self.respond_next(n, status=status, body=body, headers=headers, prefix=prefix)

    def revoke_tokens(self) -> None:
        """Every token issued so far stops working (PayU may do so before ``expires_in``)."""
        self.tokens.clear()

    def set_status(self, order_id: str, status: str) -> None:
        self.orders[order_id]["status"] = status
        if status == "COMPLETED":
            self.orders[order_id]["_paid_at"] = _now()

    def sign(self, body: bytes, algorithm: str = "MD5", key: str = SECOND_KEY) -> str:
        digest = HASHES[algorithm](body + key.encode()).hexdigest()
        return f"sender=checkout;signature={digest};algorithm={algorithm};content=DOCUMENT"

    def notification(
        self, order_id: str, algorithm: str = "MD5", **order_changes: Any
    ) -> tuple[bytes, dict[str, str]]:
        """The order notification PayU sends about ``order_id`` now, signed with the second key.

        ``order_changes`` alter the order in the body (before signing), as PayU's own data could
        differ from ours (another amount, currency).
        """
        order = self._public(self.orders[order_id]) | order_changes
        document: dict[str, Any] = {"order": order}
        if order["status"] == "COMPLETED":
            document["localReceiptDateTime"] = self.orders[order_id]["_paid_at"]
            document["properties"] = [{"name": "PAYMENT_ID", "value": "5000000001"}]
        body = json.dumps(document, indent=1).encode()
        return body, {
            "Content-Type": "application/json;charset=UTF-8",
            "OpenPayu-Signature": self.sign(body, algorithm),  # PayU's own spelling
        }

    # --- server ---------------------------------------------------------------------------------

    async def __aenter__(self) -> PayUServer:
        app = web.Application(middlewares=[self._record])
        app.router.add_post(OAUTH_PATH, self._oauth)
        app.router.add_post(ORDERS_PATH, self._create)
        app.router.add_get(ORDERS_PATH + "/ext/{ext}", self._get_by_ext)
        app.router.add_get(ORDERS_PATH + "/{order_id}", self._get)
        app.router.add_put(ORDERS_PATH + "/{order_id}/status", self._status_update)
        app.router.add_delete(ORDERS_PATH + "/{order_id}", self._cancel)
        app.router.add_get(ORDERS_PATH + "/{order_id}/refunds", self._list_refunds)
        app.router.add_post(ORDERS_PATH + "/{order_id}/refunds", self._refund)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        body = await request.read()
        self.requests.append(Seen(request.method, request.path, dict(request.headers), body))
        if self.delay:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self.delay.total_seconds())
        for canned in self._canned:
            if request.path.startswith(canned.prefix):
                self._canned.remove(canned)
                return web.json_response(canned.body, status=canned.status, headers=canned.headers)
        if request.path != OAUTH_PATH:
            auth = request.headers.get("Authorization", "")
            token = auth.removeprefix("Bearer ")
            if not auth.startswith("Bearer ") or self.tokens.get(token, 0) < time.monotonic():
                return _error(401, "UNAUTHORIZED", "Invalid or expired token")
        response: web.StreamResponse = await handler(request)
        return response

    async def _oauth(self, request: web.Request) -> web.Response:
        if request.content_type != "application/x-www-form-urlencoded":
            return web.json_response({"error": "invalid_request"}, status=401)
        form = await request.post()
        if form.get("grant_type") != "client_credentials":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        if (form.get("client_id"), form.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
            return web.json_response({"error": "invalid_client"}, status=401)
        token = secrets.token_hex(16)
        self.tokens[token] = time.monotonic() + self.token_ttl
        self.tokens_issued += 1
        return web.json_response(
            {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": self.token_ttl,
                "grant_type": "client_credentials",
            }
        )

    async def _create(self, request: web.Request) -> web.Response:
        try:
            data = json.loads(await request.read())
            assert isinstance(data, dict)
        except (ValueError, AssertionError):
            return _error(400, "ERROR_SYNTAX", "body is not a JSON object")
        required = ("notifyUrl", "customerIp", "merchantPosId", "description", "currencyCode")
        missing = [name for name in required + ("totalAmount", "products") if not data.get(name)]
        if missing:
            return _error(400, "ERROR_VALUE_MISSING", ", ".join(missing))
        try:
            ipaddress.ip_address(data["customerIp"])
        except ValueError:
            return _error(400, "ERROR_VALUE_INVALID", "customerIp")
        if data["merchantPosId"] != POS_ID:
            return _error(400, "ERROR_VALUE_INVALID", "merchantPosId")
        amount = data["totalAmount"]
        if not isinstance(amount, str) or not amount.isdigit() or int(amount) <= 0:
            return _error(400, "ERROR_VALUE_INVALID", "totalAmount")
        ext = data.get("extOrderId")
        if ext is not None and any(o.get("extOrderId") == ext for o in self.orders.values()):
            return _error(400, "ERROR_ORDER_NOT_UNIQUE", "Order already exists")
        alphabet = string.ascii_uppercase + string.digits
        order_id = "".join(secrets.choice(alphabet) for _ in range(16)) + "GUEST000P01"
        stored = {k: data[k] for k in required + ("totalAmount", "products")}
        stored |= {k: data[k] for k in ("extOrderId", "buyer", "continueUrl") if k in data}
        stored |= {"orderId": order_id, "orderCreateDate": _now(), "status": "NEW"}
        self.orders[order_id] = stored
        redirect = f"https://merch-prod.snd.payu.com/pay/?orderId={order_id}&token=t{order_id}"
        body = {
            "status": {"statusCode": "SUCCESS"},
            "redirectUri": redirect,
            "orderId": order_id,
            "extOrderId": ext,
        }
        return web.json_response(body, status=302, headers={"Location": redirect})

    @staticmethod
    def _public(order: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in order.items() if not k.startswith("_")}

    def _orders(self, order: dict[str, Any] | None) -> web.Response:
        if order is None:
            return _error(404, "DATA_NOT_FOUND", "Could not find order")
        body = {"orders": [self._public(order)], "status": {"statusCode": "SUCCESS"}}
        return web.json_response(body)

    async def _get(self, request: web.Request) -> web.Response:
        return self._orders(self.orders.get(request.match_info["order_id"]))

    async def _get_by_ext(self, request: web.Request) -> web.Response:
        ext = request.match_info["ext"]
        found = [o for o in self.orders.values() if o.get("extOrderId") == ext]
        return self._orders(found[0] if found else None)

    async def _status_update(self, request: web.Request) -> web.Response:
        """Capture: only an order waiting for confirmation, and only to COMPLETED."""
        order_id = request.match_info["order_id"]
        order = self.orders.get(order_id)
        if order is None:
            return _error(404, "DATA_NOT_FOUND", "Could not find order")
        try:
            data = json.loads(await request.read())
            assert isinstance(data, dict)
        except (ValueError, AssertionError):
            return _error(400, "ERROR_SYNTAX", "body is not a JSON object")
        if data.get("orderId") != order_id:
            return _error(400, "ERROR_VALUE_INVALID", "orderId")
        if data.get("orderStatus") != "COMPLETED":
            return _error(400, "ERROR_VALUE_INVALID", "orderStatus")
        if order["status"] != "WAITING_FOR_CONFIRMATION":
            return _error(400, "ERROR_ORDER_NOT_WAITING_FOR_CONFIRMATION", order["status"])
        self.set_status(order_id, "COMPLETED")
        return web.json_response(
            {"status": {"statusCode": "SUCCESS", "statusDesc": "Status was updated"}}
        )

    async def _cancel(self, request: web.Request) -> web.Response:
        """Cancel an order not completed; the money held goes back to the buyer."""
        order_id = request.match_info["order_id"]
        order = self.orders.get(order_id)
        if order is None:
            return _error(404, "DATA_NOT_FOUND", "Could not find order")
        if order["status"] in ("COMPLETED", "CANCELED"):
            return _error(400, "ERROR_ORDER_NOT_CANCELABLE", order["status"])
        self.set_status(order_id, "CANCELED")
        body = {
            "orderId": order_id,
            "extOrderId": order.get("extOrderId"),
            "status": {"statusCode": "SUCCESS"},
        }
        return web.json_response(body)

    async def _list_refunds(self, request: web.Request) -> web.Response:
        order_id = request.match_info["order_id"]
        if order_id not in self.orders:
            return _error(404, "DATA_NOT_FOUND", "Could not find order")
        return web.json_response({"refunds": self.refunds.get(order_id, [])})

    async def _refund(self, request: web.Request) -> web.Response:
        order_id = request.match_info["order_id"]
        order = self.orders.get(order_id)
        if order is None:
            return _error(404, "DATA_NOT_FOUND", "Could not find order")
        try:
            refund = json.loads(await request.read())["refund"]
            assert isinstance(refund, dict) and refund.get("description")
        except (ValueError, KeyError, TypeError, AssertionError):
            return _error(400, "ERROR_SYNTAX", "refund object with a description expected")
        if order["status"] != "COMPLETED":
            return _error(400, "BUSINESS_ERROR", "Order is not completed")
        done = self.refunds.setdefault(order_id, [])
        if any(r["extRefundId"] == refund.get("extRefundId") for r in done):
            return _error(400, "ERROR_VALUE_INVALID", "extRefundId is not unique")
        left = int(order["totalAmount"]) - sum(int(r["amount"]) for r in done)
        amount = int(refund.get("amount", left))
        if not 0 < amount <= left:
            return _error(400, "ERROR_VALUE_INVALID", "refund amount exceeds what is left")
        made = {
            "refundId": str(5000000000 + sum(len(r) for r in self.refunds.values())),
            "extRefundId": refund.get("extRefundId"),
            "amount": str(amount),
            "currencyCode": order["currencyCode"],
            "description": refund["description"],
            "creationDateTime": _now(),
            "status": "PENDING",
            "statusDateTime": _now(),
        }
        done.append(made)
        ok = {"statusCode": "SUCCESS", "statusDesc": "Refund queued for processing"}
        return web.json_response({"orderId": order_id, "refund": made, "status": ok})
