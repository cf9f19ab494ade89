"""The relay of a bench run: a lean SMTP server that keeps every message it is given.

It stands where a deployment has its mail relay, on another machine; here it shares the two
cores with the worker and the Temporal server, so what it costs is taken from our side's
figures. ``entrypoints.devsmtp`` (aiosmtpd) reads a message line by line in Python and offers TLS,
AUTH and refusals; this one answers the dialogue our SMTP adapter holds (EHLO, MAIL FROM,
RCPT TO, DATA, RSET, NOOP, QUIT) with no extensions and reads each message in one piece,
about as cheap as the bare side's inbox, which takes a line per iteration. Messages are kept
as :class:`entrypoints.devsmtp.Delivery`, parsed only when a scenario reads them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from types import TracebackType
from typing import Self

from entrypoints.devsmtp import Delivery, until_received

__all__ = ["SmtpSink"]

END_OF_DATA = b"\r\n.\r\n"
MAX_MESSAGE = 32 * 1024 * 1024  # far above any mail of ours (an invoice PDF is ~30 KB)


class SmtpSink:
    """SMTP on ``127.0.0.1`` at a free port, started as an async context manager."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host, self.port = host, 0
        self.received: list[Delivery] = []
        self._arrived = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._sessions: set[asyncio.Task[None]] = set()

    async def wait_for(self, count: int, timeout: float = 10) -> list[Delivery]:
        """Wait until at least ``count`` messages have arrived; return all of them."""
        await until_received(self.received, self._arrived, count, timeout)
        return self.received

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._session, self.host, 0, limit=MAX_MESSAGE)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._sessions):
                task.cancel()
            await asyncio.gather(*self._sessions, return_exceptions=True)
            await self._server.wait_closed()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._sessions.add(task)
        peer = writer.get_extra_info("peername") or ("", 0)
        try:
            await _converse(reader, writer, self._accept, (peer[0], peer[1]))
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # the client went away mid-dialogue: nothing of it was accepted
        finally:
            self._sessions.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _accept(self, delivery: Delivery) -> None:
        self.received.append(delivery)
        self._arrived.set()


async def _converse(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    accept: Callable[[Delivery], None],
    peer: tuple[str, int],
) -> None:
    writer.write(b"220 localhost ESMTP bench relay\r\n")
    mail_from: str | None = None
    rcpts: list[str] = []
    while line := await reader.readline():
        verb = line[:4].upper()
        if verb in (b"EHLO", b"HELO"):
            reply = b"250 localhost"
        elif verb == b"MAIL":
            mail_from, rcpts = _address(line), []
            reply = b"250 OK"
        elif verb == b"RCPT" and mail_from is not None:
            rcpts.append(_address(line))
            reply = b"250 OK"
        elif verb == b"DATA" and rcpts:
            writer.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
            accept(
                Delivery(
                    mail_from=mail_from or "",
                    rcpt_tos=tuple(rcpts),
                    peer=peer,
                    tls=False,
                    login=None,
                    raw=_unstuffed(await _data(reader)),
                )
            )
            mail_from, rcpts = None, []
            reply = b"250 Message accepted for delivery"
        elif verb == b"RSET":
            mail_from, rcpts = None, []
            reply = b"250 OK"
        elif verb == b"NOOP":
            reply = b"250 OK"
        elif verb == b"QUIT":
            writer.write(b"221 Bye\r\n")
            await writer.drain()
            return
        else:
            reply = b"503 Bad sequence of commands" if verb in (b"RCPT", b"DATA") else b"502 No"
        writer.write(reply + b"\r\n")
        await writer.drain()


async def _data(reader: asyncio.StreamReader) -> bytes:
    """The message up to the lone dot, with its last line end (an empty one is just ``.``)."""
    data = await reader.readuntil(b"\n")
    if data == b".\r\n":
        return b""
    # Each read stops at a line ending in a dot; the one that is only a dot ends the message.
    while not data.endswith(END_OF_DATA):
        data += await reader.readuntil(b".\r\n")
    return data[: -len(b".\r\n")]


def _unstuffed(data: bytes) -> bytes:
    # RFC 5321 4.5.2: the client doubled every dot that starts a line.
    data = data.replace(b"\r\n..", b"\r\n.")
    return data[1:] if data.startswith(b"..") else data


def _address(line: bytes) -> str:
    """``MAIL FROM:<a@b> SIZE=…`` → ``a@b``."""
    text = line.decode("ascii", "replace")
    start, end = text.find("<"), text.find(">")
    return text[start + 1 : end] if 0 <= start < end else text.partition(":")[2].strip()
