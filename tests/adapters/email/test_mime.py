"""render: the MIME shape every adapter sends."""

from __future__ import annotations

from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser

import idna
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.email.base import (
    Attachment,
    EmailError,
    OutgoingEmail,
    RecipientRejected,
    UnsafeHeader,
)
from adapters.email.mime import (
    _address_header,
    _disposition,
    _extra_header,
    _folded,
    _unstructured_header,
    envelope,
    parse_mailbox,
    render,
)
from adapters.testing import POLISH, forge, sample_mail
from tests.adapters.email.messages import build_message, build_message_and_envelope


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


# --- render against the standard library ---------------------------------------------------
#
# render writes the bytes itself; what a receiver parses out of them must be what
# email.message.EmailMessage would have sent for the same mail.

WHEN = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
# Header text: no control characters (refused) and no line or paragraph separators.
header_text = st.text(st.characters(exclude_categories=["Cs", "Cc", "Zl", "Zp"]), max_size=120)
body_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=300)
plain_ascii = st.from_regex(r"[!-~]{1,30}(?: [!-~]{1,30}){0,4}", fullmatch=True)
recipients = st.sampled_from(
    [
        "jan.kowalski@example.pl",
        "jan@zażółć.pl",
        "Jan <jan@example.com>",
        "Łucja Żółć <lucja@example.com>",
        '"Kowalski, Jan" <jan@example.com>',
        "a.very.long.local.part.that.goes.on.and.on.and.on@a-long-subdomain.example.com",
    ]
)
attachments = st.builds(
    Attachment,
    filename=header_text.filter(str.strip),
    content_type=st.sampled_from(["application/pdf", "text/plain", "image/png"]),
    data=st.binary(max_size=300),
)
extra_headers = st.lists(
    st.tuples(st.sampled_from(["X-Ebok-Kind", "Auto-Submitted"]), header_text)
    | st.tuples(st.just("Reply-To"), recipients),  # (the stdlib's parser crashes on some junk)
    max_size=2,
    unique_by=lambda header: header[0],
)


def reference(mail: OutgoingEmail) -> EmailMessage:
    """The mail built with EmailMessage and flattened by the standard library, parsed back."""
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = parse_mailbox("From", mail.sender)
    msg["To"] = parse_mailbox("To", mail.to)
    msg["Subject"] = mail.subject
    msg["Date"] = WHEN
    msg["Message-ID"] = mail.message_id
    for name, value in mail.headers:
        msg[name] = value
    msg.set_content(mail.text, cte="quoted-printable")
    if mail.html is not None:
        msg.add_alternative(mail.html, subtype="html", cte="quoted-printable")
    for att in mail.attachments:
        maintype, _, subtype = att.content_type.partition("/")
        msg.add_attachment(att.data, maintype=maintype, subtype=subtype, filename=att.filename)
    return BytesParser(policy=policy.default).parsebytes(bytes(msg))


Leaf = tuple[str, str | None, object]


def read(msg: EmailMessage) -> tuple[list[tuple[str, str]], list[Leaf]]:
    """What a receiver reads: the headers but the MIME ones, and every leaf part's type,
    file name and decoded content."""
    mime = {"mime-version", "content-type", "content-transfer-encoding", "content-disposition"}
    headers = [(name, str(value)) for name, value in msg.items() if name.lower() not in mime]
    leaves: list[Leaf] = []
    for part in msg.walk():
        if not part.is_multipart():
            content = part.get_content()
            if isinstance(content, str):
                content = content.replace("\r\n", "\n")
            leaves.append((part.get_content_type(), part.get_filename(), content))
    return headers, leaves


@settings(max_examples=300, deadline=None)
@given(
    subject=header_text | plain_ascii,
    to=recipients,
    text=body_text,
    html=st.none() | body_text,
    headers=extra_headers,
    atts=st.lists(attachments, max_size=2),
)
def test_a_receiver_reads_what_email_message_would_have_sent(
    subject: str,
    to: str,
    text: str,
    html: str | None,
    headers: list[tuple[str, str]],
    atts: list[Attachment],
) -> None:
    mail = sample_mail(
        subject=subject,
        to=to,
        text=text,
        html=html,
        headers=tuple(headers),
        attachments=tuple(atts),
    )
    raw, env = render(mail, date=WHEN)
    got = BytesParser(policy=policy.default).parsebytes(raw)
    assert read(got) == read(reference(mail))
    assert env == envelope(mail)
    assert not got.defects and not any(part.defects for part in got.walk())
    assert raw.isascii() and b"\n" not in raw.replace(b"\r\n", b"")
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    # Bodies and MIME headers keep to RFC 5322's 78 characters (quoted-printable and base64:
    # RFC 2045's 76); only the stdlib's folding of an unbreakable word may run longer.
    head, _, body = raw.partition(b"\r\n\r\n")
    assert all(len(line) <= 78 for line in body.split(b"\r\n"))


@given(plain_ascii, st.sampled_from(["Subject", "X-Ebok-Kind", "Auto-Submitted"]))
def test_a_plain_header_is_written_as_the_standard_library_folds_it(value: str, name: str) -> None:
    assert _unstructured_header(name, value) == _folded(name, value)
    assert _extra_header(name, value) == _folded(name, value)


@given(st.from_regex(r"[a-z0-9](?:[a-z0-9._+-]{0,70}[a-z0-9])?", fullmatch=True))
def test_a_bare_address_is_parsed_and_written_as_through_the_header_parser(local: str) -> None:
    value = f"{local}@example.pl"
    try:
        expected: Address | type[Exception] = parse_mailbox("To", f"<{value}>")
    except RecipientRejected:
        expected = RecipientRejected
    try:
        got: Address | type[Exception] = parse_mailbox("To", value)
    except RecipientRejected:
        got = RecipientRejected
    assert got == expected
    if isinstance(got, Address):
        assert _address_header("To", got) == _folded("To", got)


@pytest.mark.parametrize("filename", ["Faktura_FV_2026_12_000101.pdf", "a.pdf", "x" * 60 + ".pdf"])
def test_a_plain_filename_is_written_as_add_attachment_writes_it(filename: str) -> None:
    part = EmailMessage(policy=policy.SMTP)
    part.add_attachment(b"", maintype="application", subtype="pdf", filename=filename)
    (att,) = part.iter_attachments()
    assert _disposition(filename) == att["Content-Disposition"].fold(policy=policy.SMTP)


def test_render_is_the_same_for_the_same_mail_and_date() -> None:
    pdf = Attachment("faktura.pdf", "application/pdf", b"%PDF")
    mail = sample_mail(html="<p>x</p>", attachments=(pdf,))
    raw, _ = render(mail, date=WHEN)
    assert render(mail, date=WHEN)[0] == raw
    assert raw.count(b"\r\n--=_") == 6  # each multipart: a delimiter per part and a closing one
    assert render(sample_mail(html="<p>x</p>"), date=WHEN)[0] != raw


@pytest.mark.parametrize("bad", ["\x0b", "\x1b", "\x7f", "\t\x01"])
def test_other_control_characters_in_headers_are_refused(bad: str) -> None:
    with pytest.raises(UnsafeHeader):
        render(sample_mail(subject=f"Faktura{bad}"))
    with pytest.raises(UnsafeHeader):
        render(sample_mail(headers=(("X-Ebok-Kind", f"a{bad}b"),)))


@pytest.mark.parametrize("content_type", ["application/pdf; name=x", "application /pdf", "/pdf"])
def test_attachment_content_type_must_be_two_tokens(content_type: str) -> None:
    with pytest.raises(EmailError, match="content type"):
        render(sample_mail(attachments=(Attachment("a.pdf", content_type, b""),)))


def test_a_header_allowed_once_is_refused_twice() -> None:
    once = (("Reply-To", "bok@ebok.example.pl"),)
    with pytest.raises(EmailError, match="only once"):
        render(sample_mail(headers=once * 2))
    render(sample_mail(headers=(("X-Ebok-Kind", "a"), ("X-Ebok-Kind", "b"), *once)))


def test_message_id_must_be_printable_ascii() -> None:
    with pytest.raises(UnsafeHeader, match="Message-ID"):
        render(sample_mail(message_id="<żółć@ebok.example.pl>"))
