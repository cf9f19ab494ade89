"""Where the driver waits for the end of an iteration that the worker signals by a message.

Ours: the mail at the local SMTP server (:class:`Mailbox`). Bare: a line over TCP from the
bare ``notify`` activity (:class:`BareInbox`), so the bare worker, in its own process, makes
one network round trip to the driver where ours makes an SMTP transaction. Both hand each
arrival to the one waiter for its key, stamped with the time it arrived.
"""

from __future__ import annotations

import asyncio
import binascii
import contextlib
import re
import time
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message

from bench.smtp_sink import SmtpSink
from entrypoints.devsmtp import Delivery

__all__ = ["Arrival", "BareInbox", "Mailbox"]


# A text/plain part of a multipart mail: its header lines after a boundary, then its body up
# to the next boundary line.
_TEXT_PART = re.compile(
    rb"(?ims)^--(?P<boundary>[^\r\n]+)\r?\n"
    rb"(?P<headers>(?:[^\r\n]+\r?\n)*?content-type:[ \t]*text/plain\b[^\r\n]*\r?\n"
    rb"(?:[^\r\n]+\r?\n)*)"
    rb"\r?\n(?P<body>.*?)\r?\n--(?P=boundary)"
)
_TRANSFER_ENCODING = re.compile(rb"(?im)^content-transfer-encoding:[ \t]*([\w-]+)")
_CHARSET = re.compile(rb'(?i)charset="?([\w-]+)')


@dataclass(frozen=True)
class Arrival:
    at: float  # time.perf_counter() when the driver saw it
    delivery: Delivery | None = None  # the mail, on our side

    # What the scenarios check of a mail, read at a tenth of the cost of a full parse with
    # the modern policy: the driver shares the machine with the side it measures.
    @property
    def subject(self) -> str:
        return str(self.delivery.headers["Subject"] or "") if self.delivery else ""

    def parts(self) -> list[Message]:
        """The leaf parts of the mail (the legacy parser: no header objects built)."""
        if self.delivery is None:
            return []
        return [p for p in message_from_bytes(self.delivery.raw).walk() if not p.is_multipart()]

    def attaches(self, content_type: str) -> bool:
        """Whether a part of the mail is of ``content_type``, read from the header lines after
        a boundary alone: a parse would read every line of the base64 body (a PDF's is a
        thousand of them)."""
        if self.delivery is None:
            return False
        wanted = re.escape(content_type.encode())
        part = rb"(?im)^--\S+\r?\n(?:[^\r\n]+\r?\n)*?content-type:[ \t]*" + wanted + rb"\b"
        return re.search(part, self.delivery.raw) is not None

    def text(self) -> str:
        """The plain-text body, decoded. The part is found by its header lines and only it is
        decoded: a parse reads the HTML part (and any attachment) as well, and on the driver
        that was a tenth of a registration's CPU besides the password hash."""
        found = _TEXT_PART.search(self.delivery.raw) if self.delivery else None
        if found is None:
            return self.parsed_text()
        headers, body = found.group("headers"), found.group("body")
        encoding = _TRANSFER_ENCODING.search(headers)
        charset = _CHARSET.search(headers)
        kind = encoding.group(1).lower() if encoding else b"7bit"
        if kind == b"quoted-printable":
            body = binascii.a2b_qp(body)
        elif kind == b"base64":
            body = binascii.a2b_base64(body)
        return body.decode(charset.group(1).decode() if charset else "utf-8")

    def parsed_text(self) -> str:
        """:meth:`text` by parsing the whole mail."""
        for part in self.parts():
            if part.get_content_type() == "text/plain":
                payload = part.get_payload(decode=True)
                assert isinstance(payload, bytes)
                return payload.decode(part.get_content_charset() or "utf-8")
        return ""


class Mailbox:
    """Hands each arriving mail to whoever waits for its recipient; others are dropped.
    One reader of the SMTP server, so waiters never scan the whole list."""

    def __init__(self, smtpd: SmtpSink) -> None:
        self._smtpd = smtpd
        self._waiting: dict[str, asyncio.Future[Arrival]] = {}
        self._seen = len(smtpd.received)
        self._task: asyncio.Task[None] | None = None

    def expect(self, address: str) -> asyncio.Future[Arrival]:
        arrived: asyncio.Future[Arrival] = asyncio.get_running_loop().create_future()
        self._waiting[address.lower()] = arrived
        return arrived

    async def __aenter__(self) -> Mailbox:
        self._task = asyncio.create_task(self._pump())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _pump(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await self._smtpd.wait_for(self._seen + 1, timeout=60)
            now = time.perf_counter()
            received = self._smtpd.received
            for delivery in received[self._seen :]:
                for rcpt in delivery.rcpt_tos:
                    waiter = self._waiting.pop(rcpt.lower(), None)
                    if waiter is not None and not waiter.done():
                        waiter.set_result(Arrival(now, delivery))
            self._seen = len(received)


class BareInbox:
    """A TCP server on 127.0.0.1 reading one key per line and answering ``ok``."""

    def __init__(self) -> None:
        self._waiting: dict[str, asyncio.Future[Arrival]] = {}
        self._server: asyncio.Server | None = None
        self.address = ""

    def expect(self, key: str) -> asyncio.Future[Arrival]:
        arrived: asyncio.Future[Arrival] = asyncio.get_running_loop().create_future()
        self._waiting[key] = arrived
        return arrived

    async def __aenter__(self) -> BareInbox:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        host, port = self._server.sockets[0].getsockname()[:2]
        self.address = f"{host}:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async for raw in reader:
                waiter = self._waiting.pop(raw.decode().strip(), None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(Arrival(time.perf_counter()))
                writer.write(b"ok\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the worker went away; it reconnects for its next message
        finally:
            writer.close()
