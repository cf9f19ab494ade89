"""build_message: the MIME shape every adapter sends."""

from __future__ import annotations

from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import idna
import pytest

from adapters.email.base import (
    Attachment,
    EmailError,
    OutgoingEmail,
    RecipientRejected,
    UnsafeHeader,
)
from adapters.email.mime import build_message, build_message_and_envelope, envelope, parse_mailbox
from adapters.testing import POLISH, forge, sample_mail


def roundtrip(mail: OutgoingEmail) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(bytes(build_message(mail)))


def forged_attachment(filename: str) -> Attachment:
    att = object.__new__(Attachment)
    for name, value in [("filename", filename), ("content_type", "application/pdf"), ("data", b"")]:
        object.__setattr__(att, name, value)
    return att


def test_output_is_seven_bit_clean_with_crlf() -> None:
    pdf = Attachment("faktura-łódź.pdf", "application/pdf", bytes(range(256)))
    raw = bytes(
        build_message(
            sample_mail(subject=POLISH, text=POLISH, html=f"<b>{POLISH}</b>", attachments=(pdf,))
        )
    )
    assert raw.isascii()
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")


def test_long_message_id_is_kept_verbatim() -> None:
    mid = "<registration-" + "0123456789abcdef" * 5 + "-attempt-12@ebok.example.pl>"
    raw = bytes(build_message(sample_mail(message_id=mid)))
    assert f"Message-ID: {mid}\r\n".encode() in raw
    assert roundtrip(sample_mail(message_id=mid))["Message-ID"] == mid


def test_date_is_given_or_now() -> None:
    when = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    assert build_message(sample_mail(), date=when)["Date"].datetime == when
    assert abs(roundtrip(sample_mail())["Date"].datetime - datetime.now(UTC)).total_seconds() < 60


def test_idn_domains_are_punycoded_in_headers_and_envelope() -> None:
    mail = sample_mail(sender="eBOK <no-reply@energia-łódź.pl>", to="Zoë <zoe@ŻÓŁĆ.pl>")
    sender_domain = idna.encode("energia-łódź.pl", uts46=True).decode()
    rcpt_domain = idna.encode("żółć.pl", uts46=True).decode()
    assert sender_domain.startswith("xn--") and rcpt_domain.startswith("xn--")
    got = roundtrip(mail)
    assert got["From"].addresses[0].domain == sender_domain
    assert got["To"].addresses[0].domain == rcpt_domain
    assert got["To"].addresses[0].display_name == "Zoë"
    env = envelope(mail)
    assert (env.mail_from, env.rcpt_to) == (f"no-reply@{sender_domain}", f"zoe@{rcpt_domain}")


def test_message_and_envelope_together_match_the_separate_functions() -> None:
    mail = sample_mail(sender="eBOK <no-reply@energia-łódź.pl>", to="Zoë <zoe@ŻÓŁĆ.pl>")
    when = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    message, env = build_message_and_envelope(mail, date=when)
    assert bytes(message) == bytes(build_message(mail, date=when))
    assert env == envelope(mail)
    with pytest.raises(RecipientRejected, match="To"):
        build_message_and_envelope(sample_mail(to="nobody"))


@pytest.mark.parametrize(
    "value", ["nobody", "a@b.pl, c@d.pl", "zażółć@example.com", "", "jan@localhost"]
)
def test_bad_recipient_is_rejected(value: str) -> None:
    with pytest.raises(RecipientRejected, match="To"):
        parse_mailbox("To", value)


def test_bad_sender_is_a_configuration_error() -> None:
    with pytest.raises(EmailError, match="From") as info:
        build_message(sample_mail(sender="eBOK"))
    assert not isinstance(info.value, RecipientRejected)


def test_display_name_with_comma_is_quoted() -> None:
    got = roundtrip(sample_mail(to='"Kowalski, Jan" <jan@example.com>'))
    (addr,) = got["To"].addresses
    assert (addr.display_name, addr.addr_spec) == ("Kowalski, Jan", "jan@example.com")


@pytest.mark.parametrize(
    "fields",
    [
        {"message_id": "<a@b>\r\nBcc: x@example.com"},
        {"sender": "a@example.com\nBcc: x@example.com"},
        {"headers": (("X-A: b\r\nBcc", "x@example.com"),)},
        {"attachments": (forged_attachment("a.pdf\r\nBcc: x@example.com"),)},
    ],
)
def test_forged_fields_are_refused(fields: dict[str, object]) -> None:
    with pytest.raises(UnsafeHeader):
        build_message(forge(sample_mail(), **fields))


def test_bad_attachment_content_type() -> None:
    with pytest.raises(EmailError, match="content type"):
        build_message(sample_mail(attachments=(Attachment("a.bin", "pdf", b""),)))
