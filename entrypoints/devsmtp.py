"""A local SMTP server (aiosmtpd) for the development mode and for tests.

It runs on the caller's event loop, so handlers never race with the code that reads
``messages``; talk to it with an async client (or a blocking one from another thread).
Every message is kept, and parsed when it is first read; with a ``folder`` it is also written as
``<n>-<hash>.eml``.
"""

from __future__ import annotations

import asyncio
import fnmatch
import hashlib
import ssl
import warnings
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

__all__ = ["Delivery", "DevSmtpServer", "until_received"]


@dataclass(frozen=True)
class Delivery:
    """One accepted message with its envelope and how it arrived."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    peer: tuple[str, int]
    tls: bool
    login: str | None  # the authenticated user, if any
    raw: bytes

    # Parsed on first use: a busy receiver (the bench's) reads few of the messages whole, and
    # the standard library's parse costs about a millisecond a message.
    @cached_property
    def message(self) -> EmailMessage:
        return BytesParser(policy=policy.default).parsebytes(self.raw)

    @cached_property
    def headers(self) -> EmailMessage:
        """The header section only (the body left unparsed), for routing by subject."""
        return BytesParser(policy=policy.default).parsebytes(self.raw, headersonly=True)


async def until_received(
    received: list[Delivery], arrived: asyncio.Event, count: int, timeout: float
) -> None:
    """Wait until ``received`` holds ``count`` messages; ``arrived`` is set on each arrival."""
    async with asyncio.timeout(timeout):
        while len(received) < count:
            arrived.clear()
            await arrived.wait()


class _Handler:
    def __init__(self, server: DevSmtpServer) -> None:
        self._server = server

    async def handle_RCPT(
        self, smtp: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        for pattern, reply in self._server._rejections:
            if fnmatch.fnmatchcase(address.lower(), pattern):
                return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        auth = session.auth_data
        self._server._accept(
            Delivery(
                mail_from=envelope.mail_from or "",
                rcpt_tos=tuple(envelope.rcpt_tos),
                peer=tuple(session.peer[:2]) if session.peer else ("", 0),  # type: ignore[arg-type]
                tls=session.ssl is not None or _encrypted(smtp.transport),
                login=auth.login.decode() if isinstance(auth, LoginPassword) else None,
                raw=raw,
            )
        )
        return "250 Message accepted for delivery"


def _encrypted(transport: asyncio.BaseTransport | None) -> bool:
    # Implicit TLS never goes through STARTTLS, so session.ssl stays unset.
    return transport is not None and transport.get_extra_info("sslcontext") is not None


class _Connection(SMTP):
    """Registers itself with the server, so ``stop()`` can drop live connections."""

    def __init__(self, server: DevSmtpServer, **kwargs: Any) -> None:
        super().__init__(_Handler(server), **kwargs)
        self._owner = server

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._owner._live.add(self)
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        self._owner._live.discard(self)
        super().connection_lost(error)


class DevSmtpServer:
    """SMTP server on ``host:port`` (0 = any free port, kept across restarts).

    ``host`` should be an IP address: a name resolving to several would bind several sockets.

    ``tls_context`` offers STARTTLS (or, with ``implicit_tls``, wraps the whole connection);
    ``auth=(user, password)`` makes AUTH mandatory.
    """

    def __init__(
        self,
        folder: Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        tls_context: ssl.SSLContext | None = None,
        auth: tuple[str, str] | None = None,
        *,
        implicit_tls: bool = False,
    ) -> None:
        if implicit_tls and tls_context is None:
            raise ValueError("implicit_tls needs a tls_context")
        self.folder, self.host, self.port = folder, host, port
        self.tls_context, self.auth, self.implicit_tls = tls_context, auth, implicit_tls
        self.received: list[Delivery] = []
        self._rejections: list[tuple[str, str]] = []
        self._server: asyncio.Server | None = None
        self._live: set[_Connection] = set()
        self._arrived = asyncio.Event()
        self._count = 0  # never reset, so file names stay unique after clear()

    @property
    def messages(self) -> list[EmailMessage]:
        """The parsed messages received so far, oldest first."""
        return [d.message for d in self.received]

    @property
    def running(self) -> bool:
        return self._server is not None

    def reject(self, pattern: str, reply: str = "550 5.1.1 Mailbox unavailable") -> None:
        """Refuse RCPT TO addresses matching the glob ``pattern`` (case-insensitive)."""
        self._rejections.append((pattern.lower(), reply))

    def clear(self) -> None:
        """Forget received messages (files already written stay; rejections too)."""
        self.received.clear()

    async def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("already running")
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._new_connection,
            self.host,
            self.port,
            ssl=self.tls_context if self.implicit_tls else None,
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close the listener and drop live connections, like a relay going down."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for conn in list(self._live):
            if isinstance(conn.transport, asyncio.WriteTransport):
                conn.transport.abort()
        await server.wait_closed()
        for _ in range(100):  # connection_lost runs on a later loop iteration
            if not self._live:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0)  # let the cancelled session tasks finish

    async def wait_for(self, count: int, timeout: float = 10) -> list[EmailMessage]:
        """Wait until at least ``count`` messages have arrived; return all of them."""
        await until_received(self.received, self._arrived, count, timeout)
        return self.messages

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def _new_connection(self) -> _Connection:
        starttls = self.tls_context is not None and not self.implicit_tls
        with warnings.catch_warnings():
            # Plain-text AUTH is deliberate when no TLS is configured (a dev server on localhost);
            # aiosmtpd warns about it on every connection.
            warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
            return self._connection(starttls)

    def _connection(self, starttls: bool) -> _Connection:
        return _Connection(
            self,
            hostname="localhost",  # avoids a slow reverse DNS lookup per connection
            tls_context=self.tls_context if starttls else None,
            authenticator=self._authenticate if self.auth else None,
            auth_required=self.auth is not None,
            auth_require_tls=starttls,
            loop=asyncio.get_running_loop(),
        )

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            self.auth is not None
            and isinstance(data, LoginPassword)
            and (data.login.decode(), data.password.decode()) == self.auth
        )
        # handled=False: let aiosmtpd send the 235/535 reply itself.
        return AuthResult(success=ok, handled=False, auth_data=data if ok else None)

    def _accept(self, delivery: Delivery) -> None:
        self._count += 1
        self.received.append(delivery)
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            key = str(delivery.headers.get("Message-ID", "")).encode() or delivery.raw
            name = f"{self._count:05d}-{hashlib.sha256(key).hexdigest()[:16]}.eml"
            (self.folder / name).write_bytes(delivery.raw)
        self._arrived.set()
