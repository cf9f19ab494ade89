"""One way to turn an :class:`OutgoingEmail` into a MIME message, shared by every adapter.

The result is 7-bit clean with CRLF line ends: UTF-8 display names and subjects are RFC 2047
encoded, bodies are quoted-printable, attachments base64, and IDN domains are punycoded, so
any relay accepts it without SMTPUTF8 or 8BITMIME.

:func:`render` writes the bytes directly, in the fixed shape every mail of ours has::

    headers, MIME-Version
    multipart/mixed                     (only with attachments)
    ├── multipart/alternative           (only with an HTML body)
    │   ├── text/plain; charset="utf-8"  quoted-printable
    │   └── text/html; charset="utf-8"   quoted-printable
    └── <attachment type>                base64, Content-Disposition: attachment; filename=…

Building an ``email.message.EmailMessage`` and flattening it costs milliseconds a mail (the
header registry parses every header value it is given and folds it again on output), which
was most of the worker's CPU for a mail. Here a header that is short printable ASCII is
written as it is, which is what the standard library's folding makes of it too; any other
(non-ASCII, long, or of a structured kind) is still parsed, encoded and folded by the standard
library, one header at a time. Bodies are encoded by ``binascii`` in C. The multipart
boundaries start with ``=_``, which neither quoted-printable nor base64 text can contain.
"""

from __future__ import annotations

import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import MIMEPart
from email.utils import format_datetime
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email

from adapters.email.base import (
    Attachment,
    EmailError,
    OutgoingEmail,
    RecipientRejected,
    UnsafeHeader,
)

__all__ = [
    "Envelope",
    "envelope",
    "parse_mailbox",
    "render",
]

# Set by the builder, or would route the message behind the envelope's back.
_RESERVED = frozenset(
    {"from", "to", "cc", "bcc", "sender", "subject", "date", "message-id", "mime-version"}
)
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # CR, LF, NUL and the rest but tab
_CRLF = "\r\n"
_MAX_LINE = 78  # RFC 5322's recommended limit; the policy folds at the same length


class _Registry(HeaderRegistry):
    """The standard registry makes a new class every time it parses a header; the same few
    names come with every mail, so each class is made once."""

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type[BaseHeader]] = {}

    def map_to_type(self, name: str, cls: type[BaseHeader]) -> None:
        super().map_to_type(name, cls)
        self._made.clear()

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(key)
        return made


# refold_source="none" keeps raw headers (the Message-ID) as they are when a parsed message
# is written out again; the others fold as usual.
_POLICY = policy.SMTP.clone(refold_source="none", header_factory=_Registry())
# Printable ASCII words with single spaces between them: such a value, if it fits on the line,
# is written unchanged by the standard library's folding. "=?" could be read as an encoded word.
_PLAIN = re.compile(r"[!-~]+(?: [!-~]+)*")
# A bare addr-spec (no display name, comment, quoting or group): the header parser would only
# hand it back unchanged, so it goes straight to the validator. Non-ASCII is let through for
# IDN domains (and refused by the validator in local parts).
_BARE_ADDRESS = re.compile(r"[\w!#$%&'*+\-/=?^`{|}~.]+@(?:[\w.\-])+")
# RFC 2045 token: printable ASCII but for the tspecials.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_SAFE_FILENAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]*")
_ID = re.compile(r"<[!-~]+>")
_FIELD_NAME = re.compile(r"[!-9;-~]+")  # RFC 5322: printable ASCII but ":"
_QP = "Content-Transfer-Encoding: quoted-printable\r\n"
_BASE64 = "Content-Transfer-Encoding: base64\r\n"


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
    if _BARE_ADDRESS.fullmatch(value):
        display_name, addr_spec = "", value
    else:
        header = _POLICY.header_factory(field, value)
        addresses: tuple[Address, ...] = getattr(header, "addresses", ())
        if header.defects or len(addresses) != 1:
            raise error(f"{field}: expected exactly one address, got {value!r}")
        display_name, addr_spec = addresses[0].display_name, addresses[0].addr_spec
    try:
        # Non-ASCII local parts would need SMTPUTF8 end to end, which relays rarely offer.
        checked = validate_email(addr_spec, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as e:
        raise error(f"{field}: {addr_spec!r} is not a valid address: {e}") from None
    return Address(display_name, checked.local_part, checked.ascii_domain)


def envelope(mail: OutgoingEmail) -> Envelope:
    """The envelope addresses for ``mail``."""
    return Envelope(
        parse_mailbox("From", mail.sender).addr_spec, parse_mailbox("To", mail.to).addr_spec
    )


def _recheck(mail: OutgoingEmail) -> None:
    # OutgoingEmail validates on construction, but a frozen dataclass can still be forged
    # (object.__setattr__, pickling); the last line of defence sits where headers are written.
    # Besides CR, LF and NUL, no other control character (but tab) either: the header classes
    # would write them out as they are.
    for f in fields(mail):
        value = getattr(mail, f.name)
        if isinstance(value, str) and f.name not in ("text", "html"):
            if _CONTROL.search(value):
                raise UnsafeHeader(f"{f.name}: control characters are not allowed in a header")
    if not _ID.fullmatch(mail.message_id):
        raise UnsafeHeader("Message-ID: must be printable ASCII without spaces")
    for name, value in mail.headers:
        if _CONTROL.search(value) or not _FIELD_NAME.fullmatch(name):
            raise UnsafeHeader(f"{name!r}: control characters and ':' are not allowed here")
    for att in mail.attachments:
        if _CONTROL.search(att.filename + att.content_type):
            raise UnsafeHeader("attachment: control characters are not allowed in a header")


def render(mail: OutgoingEmail, *, date: datetime | None = None) -> tuple[bytes, Envelope]:
    """The message as the bytes to hand to a relay (7-bit, CRLF), and its envelope; ``date``
    defaults to now. Raises :class:`EmailError` (or a subclass) for anything unsendable."""
    _recheck(mail)
    sender, from_line = _sender(mail.sender)
    to = parse_mailbox("To", mail.to)
    head = [
        from_line,
        _address_header("To", to),
        _unstructured_header("Subject", mail.subject),
        f"Date: {format_datetime(date or datetime.now(UTC))}\r\n",
        # Written as it is: folding a long Message-ID would make receivers read it back with a
        # leading space, and the exact value is what lets a retried send be recognised.
        f"Message-ID: {mail.message_id}\r\n",
    ]
    for i, (name, value) in enumerate(mail.headers):
        key = name.lower()
        if key in _RESERVED or key.startswith("content-"):
            raise UnsafeHeader(f"{name}: set by the message builder, not allowed as extra header")
        if _POLICY.header_max_count(name) == 1 and any(
            other.lower() == key for other, _ in mail.headers[:i]
        ):
            raise EmailError(f"{name}: may appear only once in a message")
        head.append(_extra_header(name, value))
    head.append("MIME-Version: 1.0\r\n")
    try:
        body = _text_part("plain", mail.text)
        if mail.html is not None:
            body = _multipart("alternative", mail, (body, _text_part("html", mail.html)))
        if mail.attachments:
            parts = (body, *(_attachment(att) for att in mail.attachments))
            body = _multipart("mixed", mail, parts)
        part_head, content = body
        data = "".join((*head, part_head, _CRLF)).encode("ascii")
    except UnicodeEncodeError as e:  # folded headers are ASCII; this would be a bug of ours
        raise EmailError(f"header is not 7-bit after encoding: {e}") from None
    return data + content, Envelope(sender.addr_spec, to.addr_spec)


# --- headers ----------------------------------------------------------------------------------


@lru_cache(maxsize=16)
def _sender(value: str) -> tuple[Address, str]:
    """The configured sender, parsed and written as a header once: the same few values come
    with every mail. (A bad one raises, and exceptions are not cached.)"""
    address = parse_mailbox("From", value)
    return address, _folded("From", address)


def _folded(name: str, value: str | Address) -> str:
    # What the standard library writes for this header: parsed by its header class, then
    # folded (RFC 2047 encoded words for non-ASCII, lines of at most 78 characters).
    header = _POLICY.header_factory(name, value)
    line: str = header.fold(policy=_POLICY)
    return line


def _fits(name: str, value: str) -> bool:
    return len(name) + 2 + len(value) <= _MAX_LINE


def _unstructured_header(name: str, value: str) -> str:
    if _fits(name, value) and _PLAIN.fullmatch(value) and "=?" not in value:
        return f"{name}: {value}\r\n"
    return _folded(name, value)


def _address_header(name: str, address: Address) -> str:
    # A validated address without a display name is a dot-atom local part and an ASCII domain.
    if not address.display_name and _fits(name, address.addr_spec):
        return f"{name}: {address.addr_spec}\r\n"
    return _folded(name, address)


def _extra_header(name: str, value: str) -> str:
    # Only a header of the unstructured kind may be written as it is; the structured ones
    # (addresses, dates, MIME headers) are normalised by their classes.
    if _is_unstructured(name):
        return _unstructured_header(name, value)
    return _folded(name, value)


@lru_cache(maxsize=64)
def _is_unstructured(name: str) -> bool:
    registry = _POLICY.header_factory
    assert isinstance(registry, HeaderRegistry)
    return registry.registry.get(name.lower(), registry.default_class) is registry.default_class


# --- parts ------------------------------------------------------------------------------------

_Part = tuple[str, bytes]  # header lines (ASCII, each ending in CRLF) and the encoded content


def _text_part(subtype: str, text: str) -> _Part:
    # As the standard library's text content manager does it: lines split on CR, LF or CRLF
    # and joined with LF, a final line end added; encoded to quoted-printable lines of at most
    # 76 characters (binascii encodes trailing white space, "=", controls and non-ASCII bytes).
    lines = text.encode("utf-8").splitlines()
    encoded = binascii.b2a_qp(b"\n".join(lines) + b"\n", istext=True)
    head = f'Content-Type: text/{subtype}; charset="utf-8"\r\n{_QP}'
    return head, encoded.replace(b"\n", b"\r\n")


def _attachment(att: Attachment) -> _Part:
    maintype, sep, subtype = att.content_type.partition("/")
    if not sep or not _TOKEN.fullmatch(maintype) or not _TOKEN.fullmatch(subtype):
        raise EmailError(f"attachment {att.filename!r}: bad content type {att.content_type!r}")
    encoded = binascii.b2a_base64(att.data, newline=False)
    # 57 bytes a line: 76 base64 characters (RFC 2045).
    lines = [encoded[i : i + 76] for i in range(0, len(encoded), 76)]
    head = f"Content-Type: {maintype}/{subtype}\r\n{_BASE64}{_disposition(att.filename)}"
    return head, b"\r\n".join(lines) + b"\r\n"


def _disposition(filename: str) -> str:
    value = f'attachment; filename="{filename}"'
    if _SAFE_FILENAME.fullmatch(filename) and _fits("Content-Disposition", value):
        return f"Content-Disposition: {value}\r\n"
    # Quoting, RFC 2231 encoding of non-ASCII names and folding, as add_attachment does them.
    part = MIMEPart(policy=_POLICY)
    part["Content-Disposition"] = "attachment"
    part.set_param("filename", filename, header="Content-Disposition", replace=True)
    header = part["Content-Disposition"]
    assert isinstance(header, BaseHeader)
    line: str = header.fold(policy=_POLICY)
    return line


def _multipart(subtype: str, mail: OutgoingEmail, parts: Sequence[_Part]) -> _Part:
    # "=_" cannot occur in quoted-printable or base64 text, so the boundary cannot occur in a
    # part; derived from the Message-ID, the same mail is written the same way every time.
    digest = hashlib.sha256(mail.message_id.encode("ascii")).hexdigest()
    boundary = f"=_{subtype[0]}.{digest[:24]}"
    delimiter = f"--{boundary}\r\n".encode("ascii")
    chunks: list[bytes] = []
    for head, content in parts:
        chunks += (delimiter, head.encode("ascii"), b"\r\n", content, b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode("ascii"))
    head = f'Content-Type: multipart/{subtype}; boundary="{boundary}"\r\n'
    return head, b"".join(chunks)
