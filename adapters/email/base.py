"""The e-mail port: what the activities need from any way of sending mail.

Exceptions::

    EmailError                 root of everything an EmailSender raises
    ├── UnsafeHeader           CR/LF/NUL in a header value or address: refused before sending
    ├── RecipientRejected      permanent: the relay refused the recipient (5xx)
    └── EmailUnavailable       transient: relay down, timeout, 4xx; retry later
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

__all__ = [
    "Attachment",
    "EmailError",
    "EmailSender",
    "EmailUnavailable",
    "OutgoingEmail",
    "RecipientRejected",
    "SendReceipt",
    "UnsafeHeader",
]


class EmailError(Exception):
    """Root of everything an EmailSender raises."""


class UnsafeHeader(EmailError, ValueError):
    """A header value or address holds CR, LF or NUL (header injection)."""


class RecipientRejected(EmailError):
    """Permanent: the relay refused the recipient; retrying will not help."""


class EmailUnavailable(EmailError):
    """Transient: the relay could not be reached or asked us to come back later."""


_FORBIDDEN = ("\r", "\n", "\0")


def _check_header(name: str, value: str) -> None:
    if any(c in value for c in _FORBIDDEN):
        raise UnsafeHeader(f"{name}: CR, LF and NUL are not allowed in a header")


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # "application/pdf"
    data: bytes

    def __post_init__(self) -> None:
        _check_header("attachment filename", self.filename)
        _check_header("attachment content type", self.content_type)


@dataclass(frozen=True)
class OutgoingEmail:
    """One message, ready to send. Validated on construction, so no adapter sees a bad header.

    ``message_id`` is deterministic (derived by the caller from the business key and attempt),
    so a retried activity hands the relay the same Message-ID and duplicates can be recognised.
    """

    sender: str
    to: str
    subject: str
    text: str
    message_id: str
    html: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    attachments: tuple[Attachment, ...] = field(default=())

    def __post_init__(self) -> None:
        _check_header("From", self.sender)
        _check_header("To", self.to)
        _check_header("Subject", self.subject)
        _check_header("Message-ID", self.message_id)
        if not (self.message_id.startswith("<") and self.message_id.endswith(">")):
            raise UnsafeHeader("Message-ID: must look like <local@domain>")
        for name, value in self.headers:
            if not name or not all(33 <= ord(c) <= 126 and c != ":" for c in name):
                raise UnsafeHeader(f"header name {name!r} is not a valid field name")
            _check_header(name, value)


@dataclass(frozen=True)
class SendReceipt:
    message_id: str
    detail: str = ""  # the relay's answer or the file written, for logs


@runtime_checkable
class EmailSender(Protocol):
    """Sends one message. Implementations are built with ``from_settings(settings)``."""

    async def send(self, mail: OutgoingEmail) -> SendReceipt:
        """Hand the message to the relay; raise an :class:`EmailError` subclass on failure."""
        ...

    async def aclose(self) -> None:
        """Release connections; the sender is not used afterwards."""
        ...
