"""The contract every EmailSender must meet; plugin test suites reuse it.

Subclass :class:`EmailSenderContract` and override two fixtures::

    class TestMySender(EmailSenderContract):
        @pytest.fixture
        async def sender(self): ...      # a fresh EmailSender (close it after the test)

        @pytest.fixture
        def received(self): ...          # async () -> list[EmailMessage] that reached the far end

The tests are coroutines: run them with pytest-asyncio (``asyncio_mode = "auto"``, or mark them).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable
from email.message import EmailMessage, MIMEPart
from typing import Any

import pytest

from adapters.email.base import (
    Attachment,
    EmailError,
    EmailSender,
    OutgoingEmail,
    UnsafeHeader,
)

__all__ = ["POLISH", "EmailSenderContract", "Received", "forge", "sample_mail"]

Received = Callable[[], Awaitable[list[EmailMessage]]]

POLISH = "Aktywacja konta — Łódź, zażółć gęślą jaźń"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + bytes(range(256)) + b"\n%%EOF\n"


def sample_mail(**overrides: Any) -> OutgoingEmail:
    """A valid message with a fresh Message-ID; keyword arguments replace any field."""
    fields: dict[str, Any] = {
        "sender": "Biuro Obsługi Klienta <no-reply@ebok.example.pl>",
        "to": "Jan Kowalski <jan.kowalski@example.com>",
        "subject": "Aktywacja konta",
        "text": "Dzień dobry,\n\nkliknij link, aby aktywować konto.\n",
        "message_id": f"<{uuid.uuid4().hex}@ebok.example.pl>",
    }
    return OutgoingEmail(**(fields | overrides))


def forge(mail: OutgoingEmail, **fields: Any) -> OutgoingEmail:
    """A copy of ``mail`` with ``fields`` set *without* validation, as a buggy caller could."""
    forged = object.__new__(OutgoingEmail)
    for f in dataclasses.fields(OutgoingEmail):
        object.__setattr__(forged, f.name, fields.get(f.name, getattr(mail, f.name)))
    return forged


def _text(part: MIMEPart) -> str:
    # Messages parsed off the wire keep CRLF line ends; compare text independently of them.
    content: str = part.get_content()
    return content.replace("\r\n", "\n")


_INJECTIONS: dict[str, dict[str, Any]] = {
    "subject": {"subject": "Faktura\r\nBcc: victim@example.com"},
    "to": {"to": "jan@example.com\r\nBcc: victim@example.com"},
    "header": {"headers": (("X-Ebok-Kind", "activation\nBcc: victim@example.com"),)},
    "nul": {"subject": "Faktura\0"},
}


class EmailSenderContract:
    """What every e-mail adapter must do; see the module docstring for how to use it."""

    @pytest.fixture
    def sender(self) -> EmailSender:
        raise NotImplementedError("override the 'sender' fixture")

    @pytest.fixture
    def received(self) -> Received:
        raise NotImplementedError("override the 'received' fixture")

    async def test_message_id_and_headers_survive(
        self, sender: EmailSender, received: Received
    ) -> None:
        mail = sample_mail(
            headers=(("X-Ebok-Kind", "activation"), ("Auto-Submitted", "auto-generated"))
        )
        receipt = await sender.send(mail)
        (got,) = await received()
        assert receipt.message_id == mail.message_id
        assert got["Message-ID"] == mail.message_id
        assert got["X-Ebok-Kind"] == "activation"
        assert got["Auto-Submitted"] == "auto-generated"
        assert got["From"].addresses[0].addr_spec == "no-reply@ebok.example.pl"
        assert got["To"].addresses[0].addr_spec == "jan.kowalski@example.com"
        assert got["Date"].datetime.tzinfo is not None

    async def test_polish_text_survives(self, sender: EmailSender, received: Received) -> None:
        mail = sample_mail(subject=POLISH, text=f"{POLISH}\n", to="Łucja Żółć <lucja@example.com>")
        await sender.send(mail)
        (got,) = await received()
        assert got["Subject"] == POLISH
        assert got["To"].addresses[0].display_name == "Łucja Żółć"
        assert got["From"].addresses[0].display_name == "Biuro Obsługi Klienta"
        body = got.get_body(("plain",))
        assert body is not None and _text(body) == f"{POLISH}\n"

    async def test_html_and_pdf_attachment_survive(
        self, sender: EmailSender, received: Received
    ) -> None:
        html = f"<p>{POLISH}</p>"
        pdf = Attachment("faktura-łódź.pdf", "application/pdf", PDF)
        await sender.send(sample_mail(html=html, attachments=(pdf,)))
        (got,) = await received()
        html_part, text_part = got.get_body(("html",)), got.get_body(("plain",))
        assert html_part is not None and _text(html_part).strip() == html
        assert text_part is not None and "aktywować" in _text(text_part)
        (att,) = got.iter_attachments()
        assert att.get_content_type() == "application/pdf"
        assert att.get_filename() == "faktura-łódź.pdf"
        assert att.get_content() == PDF

    async def test_idn_recipient_is_punycoded(
        self, sender: EmailSender, received: Received
    ) -> None:
        await sender.send(sample_mail(to="Jan <jan@zażółć.pl>"))
        (got,) = await received()
        expected = "zażółć.pl".encode("idna").decode()  # the stdlib codec as an independent oracle
        assert expected.startswith("xn--")
        assert got["To"].addresses[0].domain == expected
        assert expected in got.as_string()

    @pytest.mark.parametrize("field", sorted(_INJECTIONS))
    async def test_header_injection_is_refused(
        self, sender: EmailSender, received: Received, field: str
    ) -> None:
        with pytest.raises(UnsafeHeader):
            sample_mail(**_INJECTIONS[field])
        # The adapter must refuse even a message that slipped past validation.
        with pytest.raises(EmailError):
            await sender.send(forge(sample_mail(), **_INJECTIONS[field]))
        assert await received() == []

    @pytest.mark.parametrize("name", ["Bcc", "From", "content-type"])
    async def test_reserved_extra_header_is_refused(
        self, sender: EmailSender, received: Received, name: str
    ) -> None:
        with pytest.raises(EmailError):
            await sender.send(sample_mail(headers=((name, "victim@example.com"),)))
        assert await received() == []

    async def test_invalid_recipient_is_refused(
        self, sender: EmailSender, received: Received
    ) -> None:
        with pytest.raises(EmailError, match="To"):
            await sender.send(sample_mail(to="not an address"))
        assert await received() == []

    async def test_same_message_id_twice_does_not_crash(
        self, sender: EmailSender, received: Received
    ) -> None:
        # Whether the copy is delivered again is adapter-specific (each adapter documents it);
        # it must not fail and must not alter the Message-ID.
        mail = sample_mail()
        await sender.send(mail)
        await sender.send(mail)
        got = await received()
        assert 1 <= len(got) <= 2
        assert {m["Message-ID"] for m in got} == {mail.message_id}
