"""Reading what the SMTP server received, as a customer's mail client would."""

from __future__ import annotations

import re
from email.message import EmailMessage

_LINK = re.compile(r"https://ebok\.test/aktywacja\?token=([A-Za-z0-9_\-]+)")


def body(mail: EmailMessage) -> str:
    part = mail.get_body(preferencelist=("plain",))
    assert part is not None, "no text/plain part"
    content: str = part.get_content()
    return content


def activation_token(mail: EmailMessage) -> str:
    found = _LINK.search(body(mail))
    assert found, f"no activation link in: {mail['Subject']}"
    return found.group(1)


def link_token(mail: EmailMessage, page: str) -> str:
    """The token of the portal link to ``page`` in the mail's text."""
    found = re.search(rf"https://ebok\.test/{re.escape(page)}\?token=([0-9a-f]+)", body(mail))
    assert found, f"no {page} link in: {mail['Subject']}"
    return found.group(1)


def addressed_to(messages: list[EmailMessage], address: str) -> list[EmailMessage]:
    return [msg for msg in messages if msg["To"] == address]
