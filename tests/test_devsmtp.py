"""DevSmtpServer: the local SMTP server of the development mode and the tests."""

from __future__ import annotations

import asyncio
import hashlib
import smtplib
import socket
from pathlib import Path

import aiosmtplib
import pytest

from entrypoints.devsmtp import DevSmtpServer

MESSAGE = (
    "From: a@example.com\r\nTo: b@example.com\r\nSubject: =?utf-8?q?=C5=81=C3=B3d=C5=BA?=\r\n"
    "Message-ID: <{n}@test>\r\n\r\nhello\r\n"
)


async def deliver(server: DevSmtpServer, n: int = 1, rcpt: str = "b@example.com") -> None:
    await aiosmtplib.send(
        MESSAGE.format(n=n),
        sender="a@example.com",
        recipients=[rcpt],
        hostname=server.host,
        port=server.port,
        start_tls=False,
    )


async def test_receives_parses_and_writes_files(tmp_path: Path) -> None:
    async with DevSmtpServer(folder=tmp_path) as server:
        assert server.port > 0 and server.running
        await deliver(server, 1)
        await deliver(server, 2)
    assert not server.running
    first, second = server.received
    assert first.message["Subject"] == "Łódź" and second.message["Message-ID"] == "<2@test>"
    assert (first.mail_from, first.rcpt_tos) == ("a@example.com", ("b@example.com",))
    assert not first.tls and first.login is None and first.peer[0] == "127.0.0.1"
    files = sorted(p.name for p in tmp_path.iterdir())
    digest = hashlib.sha256(b"<1@test>").hexdigest()[:16]
    assert files[0] == f"00001-{digest}.eml" and files[1].startswith("00002-")
    assert (tmp_path / files[0]).read_bytes() == first.raw


async def test_wait_for_waits_for_late_messages() -> None:
    async with DevSmtpServer() as server:

        async def later() -> None:
            await asyncio.sleep(0.05)
            await deliver(server, 1)
            await deliver(server, 2)

        task = asyncio.create_task(later())
        got = await server.wait_for(2, timeout=5)
        await task
    assert [m["Message-ID"] for m in got] == ["<1@test>", "<2@test>"]


async def test_wait_for_times_out() -> None:
    async with DevSmtpServer() as server:
        await deliver(server)
        with pytest.raises(TimeoutError):
            await server.wait_for(2, timeout=0.05)
        assert len(await server.wait_for(1, timeout=0.05)) == 1


async def test_rejects_matching_recipients_with_550() -> None:
    async with DevSmtpServer() as server:
        server.reject("*@blocked.example.com")
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as info:
            await deliver(server, rcpt="Jan@Blocked.Example.com")
        assert info.value.recipients[0].code == 550
        await deliver(server, rcpt="jan@ok.example.com")
        assert [d.rcpt_tos for d in server.received] == [("jan@ok.example.com",)]
        server.clear()
        assert server.messages == []
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused):  # rejections outlive clear()
            await deliver(server, rcpt="jan@blocked.example.com")


async def test_restart_keeps_the_port_and_the_messages() -> None:
    server = DevSmtpServer()
    await server.start()
    port = server.port
    await deliver(server, 1)
    await server.stop()
    with pytest.raises(aiosmtplib.SMTPConnectError):
        await deliver(server, 2)
    await server.start()
    assert server.port == port
    await deliver(server, 3)
    await server.stop()
    await server.stop()  # idempotent
    assert [m["Message-ID"] for m in server.messages] == ["<1@test>", "<3@test>"]


async def test_stop_drops_live_connections() -> None:
    async with DevSmtpServer() as server:
        client = aiosmtplib.SMTP(hostname=server.host, port=server.port, start_tls=False)
        await client.connect()
        await server.stop()
        await asyncio.sleep(0.01)
        assert not client.is_connected
        client.close()


async def test_auth_is_required_when_configured() -> None:
    async with DevSmtpServer(auth=("ebok", "pw")) as server:
        with pytest.raises(aiosmtplib.SMTPSenderRefused, match="530"):
            await deliver(server)
        await aiosmtplib.send(
            MESSAGE.format(n=1),
            sender="a@example.com",
            recipients=["b@example.com"],
            hostname=server.host,
            port=server.port,
            start_tls=False,
            username="ebok",
            password="pw",
        )
    (d,) = server.received
    assert d.login == "ebok"


async def test_a_blocking_client_in_a_thread_works() -> None:
    def send() -> None:
        with smtplib.SMTP(server.host, server.port, local_hostname="localhost") as s:
            s.sendmail("a@example.com", ["b@example.com"], MESSAGE.format(n=7).encode())

    async with DevSmtpServer() as server:
        await asyncio.to_thread(send)
    assert server.messages[0]["Message-ID"] == "<7@test>"


async def test_busy_port_fails_to_start() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        server = DevSmtpServer(port=sock.getsockname()[1])
        with pytest.raises(OSError):
            await server.start()
        assert not server.running


def test_implicit_tls_needs_a_context() -> None:
    with pytest.raises(ValueError, match="tls_context"):
        DevSmtpServer(implicit_tls=True)
