"""PayU-shaped payment notifications: the signature header and the order body.

Both the PayU adapter and the sandbox speak this shape, so a webhook receiver written against
one works against the other. The header::

    OpenPayU-Signature: sender=300746;signature=<hex>;algorithm=MD5;content=DOCUMENT

and the body (PayU's "order notification"; only the fields used here are shown)::

    {"order": {"orderId": "WZHF5FFDRJ140731GUEST000P01", "extOrderId": "<our key>",
               "currencyCode": "PLN", "totalAmount": "24567", "status": "COMPLETED"},
     "localReceiptDateTime": "2026-02-01T12:58:14.828+01:00"}

Everything here raises :class:`NotificationRejected` with a short reason and nothing else, for
any input: the body and headers come from the internet.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from adapters.payments.base import NotificationRejected, PaymentNotification, PaymentStatus
from ebok.money import Money

__all__ = [
    "ORDER_STATUSES",
    "SIGNATURE_HEADERS",
    "SignatureHeader",
    "event_id",
    "find_signature_header",
    "format_signature_header",
    "parse_order_notification",
    "parse_signature_header",
    "signatures_match",
]

# PayU documents OpenPayU-Signature; some of its integrations send the X- spelling.
SIGNATURE_HEADERS = ("openpayu-signature", "x-openpayu-signature")
MAX_HEADER = 1024  # a real header is ~150 characters; anything far longer is not one
MAX_AMOUNT_DIGITS = 15  # 10^13 zł: far above any invoice, far below a 64-bit overflow

# PayU order statuses → ours. NEW is an order nobody has started paying yet.
ORDER_STATUSES: Mapping[str, PaymentStatus] = {
    "NEW": PaymentStatus.PENDING,
    "PENDING": PaymentStatus.PENDING,
    "WAITING_FOR_CONFIRMATION": PaymentStatus.WAITING_FOR_CONFIRMATION,
    "COMPLETED": PaymentStatus.COMPLETED,
    "CANCELED": PaymentStatus.CANCELED,
}


@dataclass(frozen=True)
class SignatureHeader:
    sender: str
    signature: str  # lowercase hex
    algorithm: str  # upper case as sent, e.g. MD5, SHA-256
    content: str


def find_signature_header(headers: Mapping[str, str]) -> str:
    """The signature header's value, whatever the case of its name; rejected if absent."""
    found = [v for k, v in headers.items() if k.strip().lower() in SIGNATURE_HEADERS]
    if not found:
        raise NotificationRejected("missing OpenPayU-Signature header")
    if len(found) > 1:  # two signatures: which one would we be believing?
        raise NotificationRejected("more than one OpenPayU-Signature header")
    return found[0]


def parse_signature_header(value: str) -> SignatureHeader:
    """``sender=…;signature=…;algorithm=…;content=…`` → its parts; rejected if malformed."""
    if not isinstance(value, str) or len(value) > MAX_HEADER:
        raise NotificationRejected("malformed OpenPayU-Signature header")
    parts: dict[str, str] = {}
    for item in value.split(";"):
        if not item.strip():
            continue
        name, sep, field_value = item.partition("=")
        name = name.strip().lower()
        if not sep or not name or name in parts:
            raise NotificationRejected("malformed OpenPayU-Signature header")
        parts[name] = field_value.strip()
    signature = parts.get("signature", "").lower()
    if not signature:
        raise NotificationRejected("OpenPayU-Signature has no signature")
    if not signature.isascii() or any(c not in "0123456789abcdef" for c in signature):
        raise NotificationRejected("OpenPayU-Signature signature is not hexadecimal")
    algorithm = parts.get("algorithm", "").upper()
    if not algorithm:
        raise NotificationRejected("OpenPayU-Signature has no algorithm")
    return SignatureHeader(
        sender=parts.get("sender", ""),
        signature=signature,
        algorithm=algorithm,
        content=parts.get("content", ""),
    )


def format_signature_header(sender: str, signature: str, algorithm: str) -> str:
    return f"sender={sender};signature={signature};algorithm={algorithm};content=DOCUMENT"


def signatures_match(expected_hex: str, header: SignatureHeader) -> bool:
    """Constant-time comparison of two hex digests (ASCII, so compare_digest takes them)."""
    return hmac.compare_digest(expected_hex.lower().encode(), header.signature.encode())


def event_id(provider_ref: str, status: str) -> str:
    """Stable for one order in one status: the provider's retries of a notification share it."""
    return f"{provider_ref}:{status}"


def _text(obj: Mapping[str, Any], name: str) -> str:
    value = obj.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > 128:
        raise NotificationRejected(f"order.{name} missing or not a string")
    return value.strip()


def _amount(value: Any) -> Money:
    # PayU sends grosze as a string of digits; an int is tolerated, a float or "12.34" is not.
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.isascii() or not value.isdigit():
        raise NotificationRejected("order.totalAmount must be whole grosze (digits)")
    if len(value) > MAX_AMOUNT_DIGITS or int(value) <= 0:
        raise NotificationRejected("order.totalAmount out of range")
    return Money(int(value))


def _occurred_at(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 64:
        raise NotificationRejected("localReceiptDateTime is not a date-time")
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise NotificationRejected("localReceiptDateTime is not a date-time") from None
    if when.tzinfo is None:  # a naive time is ambiguous by an hour or two: refuse to guess
        raise NotificationRejected("localReceiptDateTime has no UTC offset")
    return when


def parse_order_notification(body: bytes) -> PaymentNotification:
    """A signature-checked body → :class:`PaymentNotification`; PLN orders only."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise NotificationRejected("body is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("order"), dict):
        raise NotificationRejected("body has no order object")
    order: dict[str, Any] = data["order"]
    provider_ref = _text(order, "orderId")
    # An order made elsewhere (in the provider's panel, or by another system on the same point
    # of sale) has no extOrderId: no key, but still a believed notification of a payment.
    key = None if order.get("extOrderId") in (None, "") else _text(order, "extOrderId")
    raw_status = order.get("status")
    if not isinstance(raw_status, str) or raw_status not in ORDER_STATUSES:
        raise NotificationRejected("order.status unknown")
    if order.get("currencyCode") != "PLN":
        raise NotificationRejected("order.currencyCode is not PLN")
    return PaymentNotification(
        event_id=event_id(provider_ref, raw_status),
        key=key,
        provider_ref=provider_ref,
        status=ORDER_STATUSES[raw_status],
        amount=_amount(order.get("totalAmount")),
        occurred_at=_occurred_at(data.get("localReceiptDateTime")),
    )
