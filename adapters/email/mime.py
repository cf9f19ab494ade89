"""One way to turn an :class:`OutgoingEmail` into a MIME message, shared by every adapter.

The result is 7-bit clean: UTF-8 display names and subjects are RFC 2047 encoded, bodies are
quoted-printable, attachments base64, and IDN domains are punycoded, so any relay accepts it
without SMTPUTF8 or 8BITMIME.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address, BaseHeader
from email.message import EmailMessage
from email.utils import format_datetime
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email

from adapters.email.base import EmailError, OutgoingEmail, RecipientRejected, UnsafeHeader

__all__ = ["Envelope", "build_message", "build_message_and_envelope", "envelope", "parse_mailbox"]

# Set by the builder, or would route the message behind the envelope's back.
_RESERVED = frozenset(
    {"from", "to", "cc", "bcc", "sender", "subject", "date", "message-id", "mime-version"}
)
_FORBIDDEN = ("\r", "\n", "\0")
# refold_source="none" only affects raw headers (the Message-ID); the others fold as usual.
_POLICY = policy.SMTP.clone(refold_source="none")


@dataclass(frozen=True)
class Envelope:
    """SMTP envelope: ASCII addresses for MAIL FROM and RCPT TO."""

    mail_from: str
    rcpt_to: str


def parse_mailbox(field: str, value: str) -> Address:
    """``"Name <local@domain>"`` or ``"local@domain"`` → an Address with a punycoded domain.

    A bad recipient is :class:`RecipientRejected` (no relay would take it either); a bad sender
    is a configuration problem, so a plain :class:`EmailError`.
    """
    error = RecipientRejected if field == "To" else EmailError
    header = policy.default.header_factory(field, value)
    addresses: tuple[Address, ...] = getattr(header, "addresses", ())
    if header.defects or len(addresses) != 1:
        raise error(f"{field}: expected exactly one address, got {value!r}")
    (addr,) = addresses
    try:
        # Non-ASCII local parts would need SMTPUTF8 end to end, which relays rarely offer.
        checked = validate_email(addr.addr_spec, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as e:
        raise error(f"{field}: {addr.addr_spec!r} is not a valid address: {e}") from None
    return Address(addr.display_name, checked.local_part, checked.ascii_domain)


def envelope(mail: OutgoingEmail) -> Envelope:
    """The envelope addresses for ``mail``."""
    return Envelope(
        parse_mailbox("From", mail.sender).addr_spec, parse_mailbox("To", mail.to).addr_spec
    )


def _recheck(mail: OutgoingEmail) -> None:
    # OutgoingEmail validates on construction, but a frozen dataclass can still be forged
    # (object.__setattr__, pickling); the last line of defence sits where headers are written.
    for f in fields(mail):
        value = getattr(mail, f.name)
        if isinstance(value, str) and f.name not in ("text", "html"):
            if any(c in value for c in _FORBIDDEN):
                raise UnsafeHeader(f"{f.name}: CR, LF and NUL are not allowed in a header")
    for name, value in mail.headers:
        if any(c in name + value for c in _FORBIDDEN) or ":" in name:
            raise UnsafeHeader(f"{name!r}: CR, LF, NUL and ':' are not allowed in a header")
    for att in mail.attachments:
        if any(c in att.filename + att.content_type for c in _FORBIDDEN):
            raise UnsafeHeader("attachment: CR, LF and NUL are not allowed in a header")


def build_message(mail: OutgoingEmail, *, date: datetime | None = None) -> EmailMessage:
    """Build the MIME message (policy SMTP); ``date`` defaults to now."""
    return build_message_and_envelope(mail, date=date)[0]


def build_message_and_envelope(
    mail: OutgoingEmail, *, date: datetime | None = None
) -> tuple[EmailMessage, Envelope]:
    """:func:`build_message` and :func:`envelope` together, parsing each address once.

    Address parsing and validation is most of the CPU a message costs, so a sender that needs
    both should call this rather than the two functions.
    """
    _recheck(mail)
    sender, from_header = _sender(mail.sender)
    to = parse_mailbox("To", mail.to)
    msg = EmailMessage(policy=_POLICY)
    msg["From"] = from_header
    msg["To"] = to
    msg["Subject"] = mail.subject
    msg["Date"] = format_datetime(date or datetime.now(UTC))
    # Stored raw: folding a long Message-ID would make receivers read it back with a leading
    # space, and the exact value is what lets a retried send be recognised as a duplicate.
    msg.set_raw("Message-ID", mail.message_id)
    for name, value in mail.headers:
        if name.lower() in _RESERVED or name.lower().startswith("content-"):
            raise UnsafeHeader(f"{name}: set by the message builder, not allowed as extra header")
        msg[name] = value
    msg.set_content(mail.text, cte="quoted-printable")
    if mail.html is not None:
        msg.add_alternative(mail.html, subtype="html", cte="quoted-printable")
    for att in mail.attachments:
        maintype, sep, subtype = att.content_type.partition("/")
        if not sep or not maintype or not subtype:
            raise EmailError(f"attachment {att.filename!r}: bad content type {att.content_type!r}")
        msg.add_attachment(att.data, maintype=maintype, subtype=subtype, filename=att.filename)
    return msg, Envelope(sender.addr_spec, to.addr_spec)


@lru_cache(maxsize=16)
def _sender(value: str) -> tuple[Address, BaseHeader]:
    """The configured sender, parsed and made a header once: the same few values come with
    every mail, and parsing addresses is most of a message's CPU. (A bad one raises, and
    exceptions are not cached.)"""
    address = parse_mailbox("From", value)
    header: BaseHeader = _POLICY.header_factory("From", address)
    return address, header
