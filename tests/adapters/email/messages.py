"""Rendered mails parsed back into ``EmailMessage`` objects, for tests that read headers and
parts. The product only writes mails (:func:`adapters.email.mime.render`); parsing them back
costs more than rendering them and is a reader's job."""

from __future__ import annotations

from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from adapters.email.base import OutgoingEmail
from adapters.email.mime import Envelope, render

# refold_source="none" keeps raw headers (the Message-ID) as they are when a parsed message
# is written out again.
_POLICY = policy.SMTP.clone(refold_source="none")


def build_message_and_envelope(
    mail: OutgoingEmail, *, date: datetime | None = None
) -> tuple[EmailMessage, Envelope]:
    """:func:`render`'s bytes parsed back (policy SMTP), with the envelope."""
    data, env = render(mail, date=date)
    message = BytesParser(EmailMessage, policy=_POLICY).parsebytes(data)
    return message, env


def build_message(mail: OutgoingEmail, *, date: datetime | None = None) -> EmailMessage:
    return build_message_and_envelope(mail, date=date)[0]
