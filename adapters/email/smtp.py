"""E-mail through an SMTP relay (aiosmtplib).

Up to ``pool_size`` connections are kept open and reused, one send on each at a time, so
concurrent activities do not queue behind a single SMTP exchange. If the relay dropped a
connection while it sat idle, the send reconnects once, transparently. Errors are mapped onto
the port's exceptions:

- RCPT refused with 5xx → :class:`RecipientRejected` (permanent);
- connection refused/lost, timeouts, TLS failures, any 4xx → :class:`EmailUnavailable`;
- other 5xx (bad login, sender or content refused) → :class:`EmailError`.

The same Message-ID sent twice is delivered twice: deduplication is the relay's business (or
the caller's outbox row), not something SMTP offers.
"""

from __future__ import annotations

import asyncio
import ssl

import aiosmtplib

from adapters.email.base import (
    EmailError,
    EmailUnavailable,
    OutgoingEmail,
    RecipientRejected,
    SendReceipt,
)
from adapters.email.mime import Envelope, render
from ebok.settings import Settings, SmtpSecurity

__all__ = ["SmtpSender"]


class SmtpSender:
    """Sends through one relay over a pool of connections; safe for concurrent use."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        security: SmtpSecurity = SmtpSecurity.STARTTLS_IF_OFFERED,
        user: str | None = None,
        password: str | None = None,
        timeout: float = 20.0,
        tls_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
        pool_size: int = 4,
    ) -> None:
        if pool_size < 1:
            raise ValueError(f"pool_size must be at least 1, got {pool_size}")
        self._host, self._port, self._security = host, port, security
        self._user, self._password, self._timeout = user, password, timeout
        self._tls_context, self._local_hostname = tls_context, local_hostname
        self._pool_size = pool_size
        # A slot is held for a whole send, so the connections open (idle plus in use) never
        # exceed pool_size: a send only opens one when no idle one is left.
        self._slots = asyncio.Semaphore(pool_size)
        # Used as a stack: the most recently used connection is the least likely to have been
        # timed out by the relay, and the ones at the bottom may close without being missed.
        self._idle: list[aiosmtplib.SMTP] = []
        self._closed = False

    @classmethod
    def from_settings(
        cls, settings: Settings, *, tls_context: ssl.SSLContext | None = None
    ) -> SmtpSender:
        password = settings.smtp_password
        return cls(
            settings.smtp_host,
            settings.smtp_port,
            security=settings.smtp_security,
            user=settings.smtp_user,
            password=password.get_secret_value() if password is not None else None,
            timeout=settings.smtp_timeout.total_seconds(),
            tls_context=tls_context,
            pool_size=settings.smtp_pool_size,
        )

    async def send(self, mail: OutgoingEmail) -> SendReceipt:
        data, env = render(mail)
        if self._closed:  # before waiting: aclose() may hold every slot
            raise EmailError("SmtpSender is closed")
        async with self._slots:
            if self._closed:
                raise EmailError("SmtpSender is closed")
            detail = await self._deliver(data, env)
        return SendReceipt(mail.message_id, detail)

    async def aclose(self) -> None:
        """Wait for sends in flight, then QUIT every pooled connection."""
        self._closed = True
        held = 0
        try:
            # Holding every slot means no send is using a connection any more.
            for _ in range(self._pool_size):
                await self._slots.acquire()
                held += 1
            idle, self._idle = self._idle, []
            await asyncio.gather(*(self._quit(smtp) for smtp in idle))
        finally:
            # Sends arriving later fail on _closed instead of waiting here for ever.
            for _ in range(held):
                self._slots.release()

    @property
    def _where(self) -> str:
        return f"{self._host}:{self._port}"

    async def _deliver(self, data: bytes, env: Envelope) -> str:
        for attempt in (1, 2):
            # The retry always opens a new connection: if the relay restarted, the other idle
            # ones are as stale as the one that just failed.
            smtp = self._take_idle() if attempt == 1 else None
            reused = smtp is not None
            try:
                if smtp is None:
                    smtp = await self._connect()
                # The message is already 7-bit with CRLF line ends: no BODY or SMTPUTF8
                # option is needed, and aiosmtplib need not flatten an EmailMessage again.
                _, reply = await smtp.sendmail(env.mail_from, [env.rcpt_to], data)
            except (EmailError, asyncio.CancelledError):
                # An EmailError comes from _connect, which closed its own connection; cancelled
                # mid-transaction, the session state is unknown, so it cannot go back.
                _discard(smtp)
                raise
            except Exception as e:
                if smtp is not None and _session_survives(e):
                    self._idle.append(smtp)
                else:
                    _discard(smtp)
                if reused and _stale(e):
                    continue
                raise _mapped(e, self._where) from e
            self._idle.append(smtp)
            return reply
        raise AssertionError("unreachable: the second attempt returns or raises")

    def _take_idle(self) -> aiosmtplib.SMTP | None:
        while self._idle:
            smtp = self._idle.pop()
            if smtp.is_connected:
                return smtp
            smtp.close()  # the relay hung up while it was idle; nothing to retry for it
        return None

    async def _quit(self, smtp: aiosmtplib.SMTP) -> None:
        try:
            if smtp.is_connected:
                await smtp.quit(timeout=min(self._timeout, 5.0))
        except (aiosmtplib.SMTPException, OSError):
            pass  # the relay is gone anyway; close() below frees the socket
        finally:
            smtp.close()  # also when aclose() is cancelled, which would leak the socket

    async def _connect(self) -> aiosmtplib.SMTP:
        implicit = self._security is SmtpSecurity.TLS
        smtp = aiosmtplib.SMTP(
            hostname=self._host,
            port=self._port,
            timeout=self._timeout,
            use_tls=implicit,
            start_tls=False,  # decided below, so "required" can be enforced with a clear error
            tls_context=self._tls_context,
            local_hostname=self._local_hostname,
        )
        await smtp.connect()
        try:
            encrypted = implicit
            if self._security in (SmtpSecurity.STARTTLS, SmtpSecurity.STARTTLS_IF_OFFERED):
                await smtp.ehlo()
                if smtp.supports_extension("starttls"):
                    await smtp.starttls()
                    encrypted = True
                elif self._security is SmtpSecurity.STARTTLS:
                    raise EmailUnavailable(
                        f"{self._where} does not offer STARTTLS, which smtp_security=starttls"
                        " requires; not sending"
                    )
            if self._user is not None:
                # Only an explicit "none" may send a password in clear (a relay on localhost);
                # otherwise a stripped STARTTLS offer would leak it.
                if not encrypted and self._security is not SmtpSecurity.NONE:
                    raise EmailUnavailable(
                        f"{self._where} offers no TLS; refusing to send the SMTP password in clear"
                    )
                await smtp.login(self._user, self._password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp


def _discard(smtp: aiosmtplib.SMTP | None) -> None:
    if smtp is not None:
        smtp.close()


def _stale(e: Exception) -> bool:
    # A reused connection the relay had closed while idle (or closes with 421 now).
    if isinstance(e, aiosmtplib.SMTPResponseException):
        return e.code == 421
    return isinstance(e, aiosmtplib.SMTPServerDisconnected | ConnectionError)


def _session_survives(e: Exception) -> bool:
    # After a refused command aiosmtplib sends RSET, so the session can be reused.
    refused = aiosmtplib.SMTPRecipientsRefused | aiosmtplib.SMTPResponseException
    return isinstance(e, refused) and not _stale(e)


def _mapped(e: BaseException, where: str) -> EmailError:
    if isinstance(e, aiosmtplib.SMTPRecipientsRefused):
        first = e.recipients[0]
        text = f"{where} refused {first.recipient}: {first.code} {first.message}"
        return RecipientRejected(text) if first.code >= 500 else EmailUnavailable(text)
    if isinstance(e, aiosmtplib.SMTPResponseException):
        text = f"{where} answered {e.code} {e.message}"
        return EmailError(text) if e.code >= 500 else EmailUnavailable(text)
    if isinstance(e, aiosmtplib.SMTPException | OSError | TimeoutError):
        return EmailUnavailable(f"{where} unreachable: {type(e).__name__}: {e}")
    return EmailError(f"{where}: unexpected {type(e).__name__}: {e}")
