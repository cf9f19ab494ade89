"""An in-memory EmailSender: for tests, demos and plugin authors.

Like a relay that deduplicates, a second send with an already stored Message-ID succeeds but
stores nothing. Failures can be injected to exercise retry paths.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from adapters.email.base import EmailError, EmailUnavailable, OutgoingEmail, SendReceipt
from adapters.email.mime import render
from ebok.settings import Settings

__all__ = ["MemorySender", "SentEmail"]


@dataclass(frozen=True)
class SentEmail:
    """What was sent, and the message as a receiver would parse it."""

    mail: OutgoingEmail
    message: EmailMessage


class MemorySender:
    """Keeps sent messages in :attr:`sent`, oldest first."""

    def __init__(self) -> None:
        self.sent: list[SentEmail] = []
        self.attempts = 0  # every call of send(), including failed and duplicate ones
        self._failures: list[EmailError] = []

    @classmethod
    def from_settings(cls, settings: Settings) -> MemorySender:
        return cls()

    @property
    def messages(self) -> list[EmailMessage]:
        return [s.message for s in self.sent]

    def fail_next(self, n: int = 1, error: EmailError | None = None) -> None:
        """Make the next ``n`` sends raise ``error`` (default :class:`EmailUnavailable`)."""
        if n < 0:
            raise ValueError("n must be >= 0")
        template = error if error is not None else EmailUnavailable("injected failure")
        # A copy per failure, so tracebacks do not pile up on one exception object.
        self._failures.extend(copy.copy(template) for _ in range(n))

    def clear(self) -> None:
        """Forget sent messages and pending failures."""
        self.sent.clear()
        self._failures.clear()
        self.attempts = 0

    async def send(self, mail: OutgoingEmail) -> SendReceipt:
        self.attempts += 1
        data, _ = render(mail)  # validates, so a bad mail fails like with a relay
        if self._failures:
            raise self._failures.pop(0)
        if any(s.mail.message_id == mail.message_id for s in self.sent):
            return SendReceipt(mail.message_id, "duplicate Message-ID: already stored")
        parsed = BytesParser(policy=policy.default).parsebytes(data)
        self.sent.append(SentEmail(mail, parsed))
        return SendReceipt(mail.message_id, "stored in memory")

    async def aclose(self) -> None:
        return None
