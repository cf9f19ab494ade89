"""The postal port: registered letters (list polecony) through a hybrid-mail provider, which
prints, envelopes and posts a document we send it, and tells us what became of the letter.

A letter is sent under *our* idempotency key (:attr:`LetterRequest.key`): a retried activity
finds the letter it already posted instead of posting a second one. Its fate comes back as a
:class:`~ebok.models.post.LetterFate` by asking (:meth:`PostalService.letter_status`) or in a
signed notification, believed only after :meth:`PostalService.verify_notification`.

Exceptions::

    PostError                  root of everything a PostalService raises
    ├── PostRejected           permanent: the provider refused the request (address, document)
    ├── NotificationRejected   a notification that must not be believed (signature, shape)
    └── PostUnavailable        transient: down, timeout, 5xx, 429; retry later (retry_after)
        └── PostProtocolError  the provider answered, but not in the agreed protocol
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol, runtime_checkable

from ebok.models.post import LetterFate, LetterState

__all__ = [
    "MAX_DOCUMENT",
    "MAX_KEY",
    "LetterFate",
    "LetterRequest",
    "LetterState",
    "NotificationRejected",
    "PostError",
    "PostProtocolError",
    "PostRejected",
    "PostUnavailable",
    "PostalService",
    "Recipient",
]

MAX_KEY = 64
MAX_DOCUMENT = 5 * 1024 * 1024  # a notice is a few pages; providers cap uploads near this
DOCUMENT_TYPES = ("application/pdf", "text/plain; charset=utf-8")


class PostError(Exception):
    """Root of everything a PostalService raises."""


class PostRejected(PostError):
    """Permanent: the provider refused the request itself; ``status_code`` if over HTTP."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class NotificationRejected(PostError):
    """A notification that is not believed; ``reason`` is short and safe to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PostUnavailable(PostError):
    """Transient: the provider could not answer now; ``retry_after`` is its hint in seconds."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PostProtocolError(PostUnavailable):
    """The provider answered, but not in the protocol (bad JSON, unknown state, ...): not
    believed, retried like an outage and visible by its type."""


def _clean(value: str, name: str, limit: int) -> str:
    if not value.strip() or len(value) > limit or any(c in value for c in "\r\n\0"):
        raise ValueError(f"{name} must be 1-{limit} characters on one line")
    return value.strip()


@dataclass(frozen=True)
class Recipient:
    """Who the letter is addressed to: personal data, never logged (not in repr)."""

    name: str = field(repr=False)
    street: str = field(repr=False)  # street, house and flat number
    postal_code: str = field(repr=False)  # NN-NNN
    city: str = field(repr=False)

    def __post_init__(self) -> None:
        _clean(self.name, "name", 200)
        _clean(self.street, "street", 200)
        _clean(self.city, "city", 100)
        code = self.postal_code.strip()
        if len(code) != 6 or code[2] != "-" or not (code[:2] + code[3:]).isdigit():
            raise ValueError("postal_code must be NN-NNN")


@dataclass(frozen=True)
class LetterRequest:
    """Post ``document`` to ``recipient`` as a registered letter; ``key`` is ours."""

    key: str
    recipient: Recipient
    document: bytes = field(repr=False)
    content_type: str = "application/pdf"
    posted_on: date | None = None  # the day the sender wants it posted (default: today)

    def __post_init__(self) -> None:
        if not self.key or len(self.key) > MAX_KEY or not self.key.isascii():
            raise ValueError(f"key must be 1-{MAX_KEY} ASCII characters")
        if self.content_type not in DOCUMENT_TYPES:
            raise ValueError(f"content_type must be one of {', '.join(DOCUMENT_TYPES)}")
        if not self.document or len(self.document) > MAX_DOCUMENT:
            raise ValueError(f"document must be 1 byte to {MAX_DOCUMENT} bytes")


@runtime_checkable
class PostalService(Protocol):
    """The whole port; implementations are built with ``from_settings(settings)``."""

    async def send_letter(self, request: LetterRequest) -> LetterFate:
        """Post the letter, or find the one posted before under ``request.key`` (the same
        request again is no error; the same key for another document is PostRejected).
        Answers the letter's fate now (``posted`` for a new one)."""
        ...

    async def letter_status(self, tracking_id: str) -> LetterFate:
        """Ask the provider; PostRejected for a tracking id it never gave."""
        ...

    async def verify_notification(self, body: bytes, headers: Mapping[str, str]) -> LetterFate:
        """Check the signature (constant time) and parse; NotificationRejected if not
        believable. Header names are matched case-insensitively."""
        ...

    async def aclose(self) -> None:
        """Release connections; the adapter is not used afterwards."""
        ...
