"""What the bench reads of a mail that arrived: its attachments' types and its text part."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from adapters.email.base import OutgoingEmail
from adapters.email.mime import render
from bench.inbox import Arrival
from entrypoints.devsmtp import Delivery


def test_an_arrival_tells_an_attachment_from_a_line_of_text() -> None:
    def arrival(mail: EmailMessage) -> Arrival:
        return Arrival(0.0, Delivery("a@x.pl", ("b@x.pl",), ("::1", 1), False, None, bytes(mail)))

    mail = EmailMessage()
    mail["Subject"] = "Faktura FV/2026/11/000101"
    mail.set_content("W załączniku faktura.\nContent-Type: application/pdf\n")
    without = arrival(mail)
    mail.add_attachment(b"%PDF-1.7", maintype="application", subtype="pdf", filename="f.pdf")
    with_pdf = arrival(mail)
    assert with_pdf.attaches("application/pdf")
    assert not with_pdf.attaches("application/pd")
    assert not without.attaches("application/pdf")  # the text's line is no part's header


@pytest.mark.parametrize("encoding", ["quoted-printable", "base64", "8bit"])
def test_an_arrivals_text_is_what_a_parse_finds(encoding: str) -> None:
    def arrival(raw: bytes) -> Arrival:
        return Arrival(0.0, Delivery("a@x.pl", ("b@x.pl",), ("::1", 1), False, None, raw))

    text = "Dzień dobry,\n-- \nlink: https://ebok.example.pl/aktywacja?token=" + "Ab_-9" * 30 + "\n"
    mail = EmailMessage()
    mail["Subject"] = "Aktywacja"
    mail.set_content(text, cte=encoding)
    mail.add_alternative("<p>Dzień dobry</p>", subtype="html")
    mail.add_attachment(b"%PDF-1.7" * 500, maintype="application", subtype="pdf")
    raw = bytes(mail).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    assert arrival(raw).text() == arrival(raw).parsed_text()
    assert arrival(raw).text().replace("\r\n", "\n") == text
    # Our own renderer's mails (quoted-printable, CRLF): the same.
    sent, _ = render(
        OutgoingEmail(
            sender="a@x.pl",
            to="b@x.pl",
            subject="Aktywacja",
            text=text,
            html="<p>x</p>",
            message_id="<1@x.pl>",
        )
    )
    assert arrival(sent).text() == arrival(sent).parsed_text()
    assert "token=" + "Ab_-9" * 30 in arrival(sent).text()
