"""E-mail through an SMTP relay (aiosmtplib).

One connection is kept and reused; if the relay dropped it while idle, the next send
reconnects once, transparently. Errors are mapped onto the port's exceptions:

- RCPT refused with 5xx → :class:`RecipientRejected` (permanent);
- connection refused/lost, timeouts, TLS failures, any 4xx → :class:`EmailUnavailable`;
- other 5xx (bad login, sender or content refused) → :class:`EmailError`.

The same Message-ID sent twice is delivered twice: deduplication is the relay's business (or
the caller's outbox row), not something SMTP offers.
"""

from __future__ import annotations

import asyncio
import ssl
from email.message import EmailMessage

import aiosmtplib

from adapters.email.base import (
    EmailError,
    EmailUnavailable,
    OutgoingEmail,
    RecipientRejected,
    SendReceipt,
)
from adapters.email.mime import build_message, envelope
from ebok.settings import Settings, SmtpSecurity

__all__ = ["SmtpSender"]


class SmtpSender:
    """Sends through one relay; safe for concurrent use (sends are serialised)."""

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
    ) -> None:
        self._host, self._port, self._security = host, port, security
        self._user, self._password, self._timeout = user, password, timeout
        self._tls_context, self._local_hostname = tls_context, local_hostname
        self._smtp: aiosmtplib.SMTP | None = None
        self._lock = asyncio.Lock()
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
        )

    async def send(self, mail: OutgoingEmail) -> SendReceipt:
        message = build_message(mail)
        env = envelope(mail)
        async with self._lock:
            if self._closed:
                raise EmailError("SmtpSender is closed")
            for attempt in (1, 2):
                reused = self._smtp is not None and self._smtp.is_connected
                try:
                    detail = await self._send(message, env.mail_from, env.rcpt_to)
                    break
                except EmailError:
                    self._drop()
                    raise
                except asyncio.CancelledError:
                    self._drop()  # mid-transaction: the session state is unknown
                    raise
                except Exception as e:
                    if not _session_survives(e):
                        self._drop()
                    if reused and attempt == 1 and _stale(e):
                        continue
                    raise _mapped(e, self._where) from e
        return SendReceipt(mail.message_id, detail)

    async def aclose(self) -> None:
        async with self._lock:
            self._closed = True
            smtp, self._smtp = self._smtp, None
            if smtp is not None and smtp.is_connected:
                try:
                    await smtp.quit(timeout=min(self._timeout, 5.0))
                except (aiosmtplib.SMTPException, OSError):
                    pass  # the relay is gone anyway; close() below frees the socket
                smtp.close()

    @property
    def _where(self) -> str:
        return f"{self._host}:{self._port}"

    async def _send(self, message: EmailMessage, mail_from: str, rcpt_to: str) -> str:
        if self._smtp is None or not self._smtp.is_connected:
            self._drop()
            self._smtp = await self._connect()
        _, reply = await self._smtp.send_message(message, sender=mail_from, recipients=[rcpt_to])
        return reply

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

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
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
