"""Turning a template and a few facts into an :class:`OutgoingEmail`.

Templates live in ``ebok/templates/email/<language>/<name>.{subject.txt,txt,html}``. HTML is
autoescaped, and a misspelt variable fails the render instead of mailing an empty hole.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import parseaddr
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from adapters.email.base import OutgoingEmail

__all__ = ["MailComposer", "message_id"]

WARSAW = ZoneInfo("Europe/Warsaw")
LANGUAGES = ("pl", "en")


def message_id(kind: str, subject_id: str, serial: int | str, domain: str) -> str:
    """Deterministic Message-ID: the same business event always gets the same one, so a
    retried activity is recognisable (by us and by the relay) as the same message."""
    return f"<{kind}.{subject_id}.{serial}@{domain}>"


def local_time(at: datetime) -> str:
    """What a customer in Poland reads: local time, day first."""
    return at.astimezone(WARSAW).strftime("%d.%m.%Y %H:%M")


def paragraphs(text: str) -> Markup:
    """Plain text → HTML: escaped, one ``<p>`` per block between blank lines. The partials a
    text mail and its HTML twin share are written once, as text."""
    blocks = [block.strip() for block in str(text).split("\n\n") if block.strip()]
    return Markup("\n").join(Markup("<p>{}</p>").format(b.replace("\n", " ")) for b in blocks)


class MailComposer:
    def __init__(self, sender: str) -> None:
        self.sender = sender
        self.domain = parseaddr(sender)[1].rpartition("@")[2] or "ebok.localhost"
        self._env = Environment(
            loader=PackageLoader("ebok", "templates"),
            autoescape=select_autoescape(enabled_extensions=("html",), default=False),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
            # The templates ship with the package and do not change under a running worker;
            # without this, every get_template() stats the file and its parents for changes.
            auto_reload=False,
        )
        self._env.filters["local_time"] = local_time
        self._env.filters["paragraphs"] = paragraphs

    def compose(
        self, name: str, language: str, to: str, message_id: str, **context: Any
    ) -> OutgoingEmail:
        if language not in LANGUAGES:
            language = "pl"
        base = f"email/{language}/{name}"
        subject = self._env.get_template(f"{base}.subject.txt").render(context).strip()
        return OutgoingEmail(
            sender=self.sender,
            to=to,
            subject=subject,
            text=self._env.get_template(f"{base}.txt").render(context),
            html=self._env.get_template(f"{base}.html").render(context),
            message_id=message_id,
        )
