"""An SMTP server that counts deliveries by Message-ID and notes when each arrived."""

from __future__ import annotations

import asyncio
import time
from email.message import EmailMessage

from entrypoints.devsmtp import Delivery, DevSmtpServer

__all__ = ["CountingSmtpServer"]

DOMAIN = "ebok.example.pl"


def activation_id(registration_id: str) -> str:
    return f"<activation.{registration_id}.1@{DOMAIN}>"


def welcome_id(registration_id: str) -> str:
    return f"<welcome.{registration_id}.1@{DOMAIN}>"


class CountingSmtpServer(DevSmtpServer):
    """A :class:`DevSmtpServer` (no files) that keeps, per Message-ID, every copy received
    and its arrival time on the monotonic clock."""

    def __init__(self, port: int = 0) -> None:
        super().__init__(folder=None, port=port)
        self.copies: dict[str, list[EmailMessage]] = {}
        self.arrivals: dict[str, list[float]] = {}
        self._events: dict[str, asyncio.Event] = {}

    def _accept(self, delivery: Delivery) -> None:
        super()._accept(delivery)
        mid = str(delivery.message.get("Message-ID", ""))
        self.copies.setdefault(mid, []).append(delivery.message)
        self.arrivals.setdefault(mid, []).append(time.monotonic())
        self._event(mid).set()

    def _event(self, message_id: str) -> asyncio.Event:
        return self._events.setdefault(message_id, asyncio.Event())

    async def message(self, message_id: str) -> EmailMessage:
        """The newest copy of ``message_id``, waiting for the first (bound it with a timeout)."""
        await self._event(message_id).wait()
        return self.copies[message_id][-1]

    async def copies_at_least(self, message_id: str, n: int) -> list[EmailMessage]:
        """Every copy of ``message_id`` once ``n`` have arrived (bound it with a timeout)."""
        while self.count(message_id) < n:
            await asyncio.sleep(0.05)
        return self.copies[message_id]

    def count(self, message_id: str) -> int:
        return len(self.copies.get(message_id, ()))

    def duplicates(self) -> dict[str, int]:
        """Message-IDs delivered more than once, with how often."""
        return {mid: len(c) for mid, c in self.copies.items() if len(c) > 1}
