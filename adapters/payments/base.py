"""The payments port: what the activities and the webhook receiver need from a payment provider.

A payment is created for one invoice under *our* idempotency key (``PaymentRequest.key``; PayU
calls it ``extOrderId``), so a retried activity finds the payment it already created instead of
opening a second one. Provider notifications are believed only after
:meth:`PaymentProvider.verify_notification` has checked their signature; what it returns is a
typed :class:`PaymentNotification`, never the raw body.

Exceptions::

    PaymentError                   root of everything a PaymentProvider raises
    ├── PaymentRejected            permanent: the provider refused our request
    ├── NotificationRejected       a notification that must not be believed (signature, shape)
    └── PaymentUnavailable         transient: down, timeout, 5xx, 429; retry later
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from ebok.money import Money

__all__ = [
    "CreatedPayment",
    "NotificationRejected",
    "PaymentError",
    "PaymentNotification",
    "PaymentProvider",
    "PaymentRejected",
    "PaymentRequest",
    "PaymentState",
    "PaymentStatus",
    "PaymentUnavailable",
    "RefundRequest",
    "RefundResult",
]


class PaymentError(Exception):
    """Root of everything a PaymentProvider raises."""


class PaymentRejected(PaymentError):
    """Permanent: the provider refused the request (bad data, unknown order, auth failure)."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class NotificationRejected(PaymentError):
    """A notification that is not believed: bad or missing signature, malformed body.

    ``reason`` is short and safe to log and to answer the sender with; nothing of the body is
    applied when this is raised.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PaymentUnavailable(PaymentError):
    """Transient: the provider could not answer now; ``retry_after`` is its hint in seconds."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PaymentStatus(StrEnum):
    """Where a provider payment is. Only ``COMPLETED`` moves money onto an invoice."""

    PENDING = "pending"  # created, customer not done yet
    WAITING_FOR_CONFIRMATION = "waiting_for_confirmation"  # authorised, not yet captured
    COMPLETED = "completed"  # money received: terminal
    CANCELED = "canceled"  # abandoned or refused: terminal

    @property
    def terminal(self) -> bool:
        return self in (PaymentStatus.COMPLETED, PaymentStatus.CANCELED)


@dataclass(frozen=True)
class PaymentRequest:
    """Pay ``amount`` of invoice ``invoice_number``; ``key`` is ours and identifies the payment."""

    key: str
    invoice_number: str
    amount: Money
    description: str
    continue_url: str  # where the provider sends the customer back to
    language: str = "pl"
    # Personal data, given to the provider for its receipt; not in repr().
    customer_email: str | None = field(default=None, repr=False)
    # The address of the customer asking to pay (their browser's, as the portal saw it), for
    # the provider's fraud checks. None when no customer is present: the link mailed with the
    # invoice is made by the engine itself, and the adapter says what its provider wants then.
    customer_ip: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.key or len(self.key) > 64:
            raise ValueError("key must be 1-64 characters")
        if self.amount.grosze <= 0:
            raise ValueError("amount must be positive")
        if self.customer_ip is not None:
            try:
                ipaddress.ip_address(self.customer_ip)
            except ValueError:
                raise ValueError("customer_ip must be an IPv4 or IPv6 address") from None


@dataclass(frozen=True)
class CreatedPayment:
    key: str
    provider_ref: str  # the provider's id of the payment (PayU orderId)
    # Where the customer pays. Empty when the payment was found under a key already used and
    # the provider does not give its link again (PayU): keep the link from the first answer.
    redirect_url: str


@dataclass(frozen=True)
class PaymentState:
    """The provider's current view of a payment, from a status query."""

    key: str
    provider_ref: str
    status: PaymentStatus
    amount: Money


@dataclass(frozen=True)
class PaymentNotification:
    """A verified notification. ``event_id`` identifies this notification (duplicates share it);
    the same payment may notify several times as its status moves on. ``key`` is None for a
    payment not made under a key of ours (created at the provider by someone else)."""

    event_id: str
    key: str | None
    provider_ref: str
    status: PaymentStatus
    amount: Money
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class RefundRequest:
    key: str  # ours, idempotency: the same key never refunds twice
    provider_ref: str
    amount: Money
    description: str


@dataclass(frozen=True)
class RefundResult:
    key: str
    refund_ref: str
    status: str  # the provider's own word (PENDING, FINALIZED, CANCELED, ...)


@runtime_checkable
class PaymentProvider(Protocol):
    """The whole port; implementations are built with ``from_settings(settings)``."""

    async def create_payment(self, request: PaymentRequest) -> CreatedPayment:
        """Create (or find, for a key already used) the payment; never two for one key."""
        ...

    async def verify_notification(
        self, body: bytes, headers: Mapping[str, str]
    ) -> PaymentNotification:
        """Check the signature (constant time) and parse; :class:`NotificationRejected` if not
        believable. Header names are matched case-insensitively."""
        ...

    async def payment_status(self, provider_ref: str) -> PaymentState:
        """Ask the provider; the truth before settling anything a notification claimed."""
        ...

    async def refund(self, request: RefundRequest) -> RefundResult:
        """Refund (part of) a completed payment; idempotent on ``request.key``."""
        ...

    async def capture_payment(self, provider_ref: str) -> None:
        """Take the money of a payment ``WAITING_FOR_CONFIRMATION`` (the provider holds it
        until told): it becomes ``COMPLETED``. A payment already completed is no error (a twin
        call won); one in any other state is :class:`PaymentRejected`."""
        ...

    async def cancel_payment(self, provider_ref: str) -> None:
        """Refuse a payment not completed yet (the money held goes back to the customer): it
        becomes ``CANCELED``. One already cancelled is no error; a completed one is
        :class:`PaymentRejected` (that takes a refund)."""
        ...

    async def aclose(self) -> None:
        """Release connections; the provider is not used afterwards."""
        ...
