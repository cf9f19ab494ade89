"""SmtpSender against a real SMTP server (DevSmtpServer) and a scripted misbehaving relay."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import pytest
import pytest_asyncio
from pydantic import ValidationError

from adapters.email.base import EmailError, EmailUnavailable, RecipientRejected
from adapters.email.smtp import SmtpSender
from adapters.testing import EmailSenderContract, Received, sample_mail
from ebok.settings import Settings, SmtpSecurity
from entrypoints.devsmtp import DevSmtpServer
from tests.adapters.email.conftest import Tls


def plain_sender(server: DevSmtpServer, **kwargs: Any) -> SmtpSender:
    settings = Settings(
        smtp_host="127.0.0.1", smtp_port=server.port, smtp_security=SmtpSecurity.NONE, **kwargs
    )
    return SmtpSender.from_settings(settings)


@pytest_asyncio.fixture
async def sender(smtpd: DevSmtpServer) -> AsyncIterator[SmtpSender]:
    s = plain_sender(smtpd)
    yield s
    await s.aclose()


class TestSmtpSenderContract(EmailSenderContract):
    """Same Message-ID twice: SMTP delivers both copies (dedupe is the relay's business)."""

    @pytest_asyncio.fixture
    async def sender(self, smtpd: DevSmtpServer) -> AsyncIterator[SmtpSender]:
        s = plain_sender(smtpd)
        yield s
        await s.aclose()

    @pytest.fixture
    def received(self, smtpd: DevSmtpServer) -> Received:
        async def got() -> list[EmailMessage]:
            return smtpd.messages

        return got


async def test_plain_delivery_has_the_right_envelope(
    sender: SmtpSender, smtpd: DevSmtpServer
) -> None:
    mail = sample_mail(to="Jan <jan@zażółć.pl>")
    receipt = await sender.send(mail)
    (d,) = smtpd.received
    assert d.mail_from == "no-reply@ebok.example.pl"
    assert d.rcpt_tos == ("jan@xn--za-6ja4f8n1l.pl",)
    assert d.raw.isascii()
    assert not d.tls and d.login is None
    assert "accepted" in receipt.detail


async def test_same_message_id_is_delivered_twice(sender: SmtpSender, smtpd: DevSmtpServer) -> None:
    mail = sample_mail()
    await sender.send(mail)
    await sender.send(mail)
    assert [m["Message-ID"] for m in smtpd.messages] == [mail.message_id] * 2


async def test_one_connection_is_reused(sender: SmtpSender, smtpd: DevSmtpServer) -> None:
    for _ in range(3):
        await sender.send(sample_mail())
    assert len({d.peer for d in smtpd.received}) == 1


async def test_concurrent_sends_all_arrive(sender: SmtpSender, smtpd: DevSmtpServer) -> None:
    mails = [sample_mail() for _ in range(8)]
    await asyncio.gather(*(sender.send(m) for m in mails))
    assert sorted(m["Message-ID"] for m in smtpd.messages) == sorted(m.message_id for m in mails)


async def test_from_settings_reads_timeout_and_credentials() -> None:
    s = SmtpSender.from_settings(
        Settings(smtp_user="u", smtp_password="p", smtp_timeout=timedelta(seconds=3))
    )
    assert (s._user, s._password, s._timeout) == ("u", "p", 3.0)
    assert s._security is SmtpSecurity.STARTTLS_IF_OFFERED


async def test_pool_size_comes_from_settings_and_is_bounded() -> None:
    assert SmtpSender.from_settings(Settings(smtp_pool_size=9))._pool_size == 9
    assert SmtpSender.from_settings(Settings())._pool_size == 4
    for bad in (0, 65):
        with pytest.raises(ValidationError):
            Settings(smtp_pool_size=bad)
    with pytest.raises(ValueError, match="pool_size"):
        SmtpSender("127.0.0.1", 25, pool_size=0)


# --- the connection pool ------------------------------------------------------------------


async def test_concurrent_sends_open_at_most_pool_size_connections(
    smtpd: DevSmtpServer,
) -> None:
    s = plain_sender(smtpd, smtp_pool_size=4)
    mails = [sample_mail() for _ in range(8)]
    await asyncio.gather(*(s.send(m) for m in mails))
    assert sorted(m["Message-ID"] for m in smtpd.messages) == sorted(m.message_id for m in mails)
    assert len({d.peer for d in smtpd.received}) == 4
    await asyncio.gather(*(s.send(sample_mail()) for _ in range(8)))
    assert len({d.peer for d in smtpd.received}) == 4  # the second burst reuses them all
    await s.aclose()


async def test_pool_size_one_uses_one_connection(smtpd: DevSmtpServer) -> None:
    s = plain_sender(smtpd, smtp_pool_size=1)
    await asyncio.gather(*(s.send(sample_mail()) for _ in range(5)))
    await s.aclose()
    assert len(smtpd.received) == 5
    assert len({d.peer for d in smtpd.received}) == 1


async def test_a_pooled_connection_dropped_while_idle_is_replaced(smtpd: DevSmtpServer) -> None:
    s = plain_sender(smtpd, smtp_pool_size=2)
    await asyncio.gather(*(s.send(sample_mail()) for _ in range(2)))
    assert len(smtpd._live) == 2
    dropped = next(iter(smtpd._live))
    assert isinstance(dropped.transport, asyncio.WriteTransport)
    dropped.transport.abort()
    await asyncio.gather(*(s.send(sample_mail()) for _ in range(2)))
    assert len(smtpd.received) == 4
    assert len({d.peer for d in smtpd.received}) == 3  # one replacement, one survivor
    assert len(smtpd._live) == 2
    await s.aclose()


async def test_aclose_closes_every_pooled_connection(smtpd: DevSmtpServer) -> None:
    s = plain_sender(smtpd, smtp_pool_size=4)
    await asyncio.gather(*(s.send(sample_mail()) for _ in range(8)))
    assert len(smtpd._live) == 4
    await s.aclose()
    async with asyncio.timeout(2):  # the server notices on a later loop iteration
        while smtpd._live:
            await asyncio.sleep(0.01)
    with pytest.raises(EmailError, match="closed"):
        await s.send(sample_mail())
    await s.aclose()  # twice is harmless


# --- TLS -----------------------------------------------------------------------------------


@pytest.mark.parametrize("security", [SmtpSecurity.STARTTLS, SmtpSecurity.STARTTLS_IF_OFFERED])
async def test_starttls(tls: Tls, security: SmtpSecurity) -> None:
    async with DevSmtpServer(tls_context=tls.server) as server:
        s = SmtpSender("127.0.0.1", server.port, security=security, tls_context=tls.client)
        await s.send(sample_mail())
        await s.aclose()
    (d,) = server.received
    assert d.tls


async def test_implicit_tls(tls: Tls) -> None:
    async with DevSmtpServer(tls_context=tls.server, implicit_tls=True) as server:
        s = SmtpSender("127.0.0.1", server.port, security=SmtpSecurity.TLS, tls_context=tls.client)
        await s.send(sample_mail())
        await s.aclose()
    (d,) = server.received
    assert d.tls


async def test_starttls_required_but_not_offered(smtpd: DevSmtpServer, tls: Tls) -> None:
    s = SmtpSender("127.0.0.1", smtpd.port, security=SmtpSecurity.STARTTLS, tls_context=tls.client)
    with pytest.raises(EmailUnavailable, match="STARTTLS"):
        await s.send(sample_mail())
    await s.aclose()
    assert smtpd.received == []


async def test_starttls_if_offered_falls_back_to_plain(smtpd: DevSmtpServer) -> None:
    s = SmtpSender("127.0.0.1", smtpd.port, security=SmtpSecurity.STARTTLS_IF_OFFERED)
    await s.send(sample_mail())
    await s.aclose()
    (d,) = smtpd.received
    assert not d.tls


async def test_untrusted_certificate_is_refused(tls: Tls) -> None:
    async with DevSmtpServer(tls_context=tls.server) as server:
        s = SmtpSender("127.0.0.1", server.port, security=SmtpSecurity.STARTTLS)
        with pytest.raises(EmailUnavailable, match="(?i)certificate"):
            await s.send(sample_mail())
        await s.aclose()
    assert server.received == []


# --- AUTH ----------------------------------------------------------------------------------


async def test_auth_over_starttls(tls: Tls) -> None:
    async with DevSmtpServer(tls_context=tls.server, auth=("ebok", "sekret-ż")) as server:
        s = SmtpSender(
            "127.0.0.1",
            server.port,
            security=SmtpSecurity.STARTTLS,
            tls_context=tls.client,
            user="ebok",
            password="sekret-ż",
        )
        await s.send(sample_mail())
        await s.aclose()
    (d,) = server.received
    assert d.login == "ebok" and d.tls


async def test_auth_wrong_password(tls: Tls) -> None:
    async with DevSmtpServer(tls_context=tls.server, auth=("ebok", "right")) as server:
        s = SmtpSender(
            "127.0.0.1",
            server.port,
            security=SmtpSecurity.STARTTLS,
            tls_context=tls.client,
            user="ebok",
            password="wrong",
        )
        with pytest.raises(EmailError, match="535") as info:
            await s.send(sample_mail())
        assert not isinstance(info.value, RecipientRejected)
        await s.aclose()
    assert server.received == []


async def test_missing_auth_is_refused_by_the_server() -> None:
    async with DevSmtpServer(auth=("ebok", "pw")) as server:
        s = SmtpSender("127.0.0.1", server.port, security=SmtpSecurity.NONE)
        with pytest.raises(EmailError, match="530"):
            await s.send(sample_mail())
        await s.aclose()
    assert server.received == []


async def test_plain_auth_only_when_security_is_none() -> None:
    async with DevSmtpServer(auth=("ebok", "pw")) as server:
        cautious = SmtpSender("127.0.0.1", server.port, user="ebok", password="pw")
        with pytest.raises(EmailUnavailable, match="in clear"):
            await cautious.send(sample_mail())
        await cautious.aclose()
        local = plain_sender(server, smtp_user="ebok", smtp_password="pw")
        await local.send(sample_mail())
        await local.aclose()
    (d,) = server.received
    assert d.login == "ebok" and not d.tls


# --- refusals and outages ------------------------------------------------------------------


async def test_550_recipient_is_rejected_and_the_session_survives(
    sender: SmtpSender, smtpd: DevSmtpServer
) -> None:
    smtpd.reject("*@blocked.example.pl")
    with pytest.raises(RecipientRejected, match="550") as info:
        await sender.send(sample_mail(to="Ktoś <Nobody@BLOCKED.example.pl>"))
    assert not isinstance(info.value, aiosmtplib.SMTPException)
    ok = sample_mail()
    await sender.send(ok)
    assert smtpd.messages[0]["Message-ID"] == ok.message_id
    assert len({d.peer for d in smtpd.received}) == 1


async def test_4xx_recipient_is_unavailable_not_rejected(
    sender: SmtpSender, smtpd: DevSmtpServer
) -> None:
    smtpd.reject("greylisted@*", "451 4.7.1 Greylisted, try again later")
    with pytest.raises(EmailUnavailable, match="451"):
        await sender.send(sample_mail(to="greylisted@example.com"))
    assert smtpd.received == []


async def test_server_down_is_unavailable(smtpd: DevSmtpServer) -> None:
    await smtpd.stop()
    s = plain_sender(smtpd)
    with pytest.raises(EmailUnavailable):
        await s.send(sample_mail())
    await s.aclose()


async def test_reconnects_after_a_restart(sender: SmtpSender, smtpd: DevSmtpServer) -> None:
    await sender.send(sample_mail())
    await smtpd.stop()
    with pytest.raises(EmailUnavailable):
        await sender.send(sample_mail())
    await smtpd.start()
    await sender.send(sample_mail())
    first, second = smtpd.received
    assert first.peer != second.peer  # a new connection, made transparently


async def test_restart_while_idle_needs_no_error(sender: SmtpSender, smtpd: DevSmtpServer) -> None:
    await sender.send(sample_mail())
    await smtpd.stop()
    await smtpd.start()
    await sender.send(sample_mail())
    assert len(smtpd.received) == 2


async def test_send_after_aclose_fails(sender: SmtpSender) -> None:
    await sender.aclose()
    with pytest.raises(EmailError, match="closed"):
        await sender.send(sample_mail())


# --- a scripted relay, for behaviour DevSmtpServer does not misbehave with ------------------


class ScriptedRelay:
    """Just enough SMTP: closes each connection with 421 after ``per_connection`` messages;
    with ``mute`` it accepts TCP connections and never says a word; ``data_delay`` seconds
    pass between the end of DATA and its 250, like a relay that takes its time to queue."""

    def __init__(
        self, per_connection: int | None = None, mute: bool = False, data_delay: float = 0.0
    ) -> None:
        self.per_connection, self.mute, self.data_delay = per_connection, mute, data_delay
        self.connections = 0
        self.delivered = 0
        self.open = 0  # sessions not yet finished
        self.in_data = 0  # sessions between the end of DATA and its reply
        self.peak = 0  # most sessions ever in that state at once
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> ScriptedRelay:
        self._server = await asyncio.start_server(self._session, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
        await self.settled()

    async def settled(self) -> None:
        """Wait until every session has ended (the client hung up or quit)."""
        async with asyncio.timeout(5):
            while self.open:
                await asyncio.sleep(0.01)

    async def wait_in_data(self, count: int) -> None:
        async with asyncio.timeout(5):
            while self.in_data < count:
                await asyncio.sleep(0.005)

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open += 1
        try:
            await self._converse(reader, writer)
            writer.close()
            await writer.wait_closed()
        except ConnectionError:
            pass  # a client that hung up mid-session (a cancelled send)
        finally:
            self.open -= 1

    async def _converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        here = 0
        if self.mute:
            await reader.read()  # until the client gives up
            return
        writer.write(b"220 relay.example.pl ESMTP\r\n")
        while line := await reader.readline():
            verb = line[:4].upper()
            if verb == b"MAIL" and self.per_connection is not None:
                if here >= self.per_connection:
                    writer.write(b"421 4.4.2 Closing connection\r\n")
                    return
            if verb == b"DATA":
                writer.write(b"354 Go ahead\r\n")
                while await reader.readline() not in (b".\r\n", b""):
                    pass
                self.in_data += 1
                self.peak = max(self.peak, self.in_data)
                try:
                    await asyncio.sleep(self.data_delay)
                finally:
                    self.in_data -= 1
                here += 1
                self.delivered += 1
            if verb == b"QUIT":
                writer.write(b"221 Bye\r\n")
                return
            writer.write(b"250 OK\r\n")
            await writer.drain()


async def test_421_on_a_reused_connection_reconnects_once() -> None:
    async with ScriptedRelay(per_connection=1) as relay:
        s = SmtpSender("127.0.0.1", relay.port, security=SmtpSecurity.NONE)
        await s.send(sample_mail())
        await s.send(sample_mail())
        await s.aclose()
    assert (relay.delivered, relay.connections) == (2, 2)


async def test_421_on_a_fresh_connection_is_unavailable() -> None:
    async with ScriptedRelay(per_connection=0) as relay:
        s = SmtpSender("127.0.0.1", relay.port, security=SmtpSecurity.NONE)
        with pytest.raises(EmailUnavailable, match="421"):
            await s.send(sample_mail())
        await s.aclose()
    assert (relay.delivered, relay.connections) == (0, 1)


async def test_timeout_is_unavailable() -> None:
    async with ScriptedRelay(mute=True) as relay:
        s = SmtpSender("127.0.0.1", relay.port, security=SmtpSecurity.NONE, timeout=0.2)
        with pytest.raises(EmailUnavailable, match="(?i)timed out|timeout"):
            await s.send(sample_mail())
        await s.aclose()


async def test_421_on_idle_pooled_connections_reconnects_each_once() -> None:
    async with ScriptedRelay(per_connection=1) as relay:
        s = SmtpSender("127.0.0.1", relay.port, security=SmtpSecurity.NONE, pool_size=2)
        await asyncio.gather(*(s.send(sample_mail()) for _ in range(2)))
        await asyncio.gather(*(s.send(sample_mail()) for _ in range(2)))
        await s.aclose()
    assert (relay.delivered, relay.connections) == (4, 4)


async def test_sends_overlap_on_separate_connections() -> None:
    async with ScriptedRelay(data_delay=0.2) as relay:
        s = SmtpSender("127.0.0.1", relay.port, security=SmtpSecurity.NONE, pool_size=4)
        started = asyncio.get_running_loop().time()
        await asyncio.gather(*(s.send(sample_mail()) for _ in range(4)))
        elapsed = asyncio.get_running_loop().time() - started
        await s.aclose()
    assert (relay.delivered, relay.connections, relay.peak) == (4, 4, 4)
    assert elapsed < 4 * 0.2  # one at a time would take at least this long


async def test_pool_size_one_sends_one_at_a_time() -> None:
    async with ScriptedRelay(data_delay=0.05) as relay:
        s = SmtpSender("127.0.0.1", relay.port, security=SmtpSecurity.NONE, pool_size=1)
        await asyncio.gather(*(s.send(sample_mail()) for _ in range(3)))
        await s.aclose()
    assert (relay.delivered, relay.connections, relay.peak) == (3, 1, 1)


async def test_aclose_waits_for_a_send_in_flight() -> None:
    async with ScriptedRelay(data_delay=0.2) as relay:
        s = SmtpSender("127.0.0.1", relay.port, security=SmtpSecurity.NONE)
        sending = asyncio.create_task(s.send(sample_mail()))
        await relay.wait_in_data(1)
        await s.aclose()
        assert sending.done() and "OK" in sending.result().detail
        await relay.settled()  # the connection was handed back, then closed
    assert relay.delivered == 1


async def test_a_cancelled_send_drops_its_connection() -> None:
    async with ScriptedRelay(data_delay=0.3) as relay:
        s = SmtpSender("127.0.0.1", relay.port, security=SmtpSecurity.NONE)
        sending = asyncio.create_task(s.send(sample_mail()))
        await relay.wait_in_data(1)
        sending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await sending
        relay.data_delay = 0
        await s.send(sample_mail())  # on a new connection: the old one's state is unknown
        await s.aclose()
    assert relay.connections == 2
