"""The bench's relay takes what a real SMTP client sends, byte for byte."""

from __future__ import annotations

import aiosmtplib
import pytest

from bench.smtp_sink import SmtpSink

MESSAGES = [
    b"Subject: one line\r\n\r\nhello\r\n",
    b"Subject: dots\r\n\r\n.starts with a dot\r\n..two\r\nends with a dot.\r\n.\r\nlast\r\n",
    b"Subject: no body\r\n\r\n",
    b"Subject: big\r\n\r\n" + b"QUJD" * 19 + b"\r\n" + (b"x" * 76 + b"\r\n") * 2000,
]


@pytest.mark.parametrize("raw", MESSAGES, ids=["one line", "dots", "no body", "big"])
async def test_a_message_arrives_as_sent(raw: bytes) -> None:
    async with SmtpSink() as sink:
        async with aiosmtplib.SMTP(hostname=sink.host, port=sink.port) as smtp:
            await smtp.sendmail("a@ebok.test", ["b@ebok.test", "c@ebok.test"], raw)
            await smtp.sendmail("a@ebok.test", ["d@ebok.test"], b"Subject: 2nd\r\n\r\nx\r\n")
        (first, second) = await sink.wait_for(2)
    assert first.raw == raw
    assert first.mail_from == "a@ebok.test"
    assert first.rcpt_tos == ("b@ebok.test", "c@ebok.test")
    assert second.rcpt_tos == ("d@ebok.test",) and second.headers["Subject"] == "2nd"


async def test_data_before_a_recipient_is_refused() -> None:
    async with SmtpSink() as sink:
        async with aiosmtplib.SMTP(hostname=sink.host, port=sink.port) as smtp:
            await smtp.mail("a@ebok.test")
            with pytest.raises(aiosmtplib.SMTPResponseException) as refused:
                await smtp.data(b"Subject: x\r\n\r\nx\r\n")
            assert refused.value.code == 503
        assert sink.received == []
