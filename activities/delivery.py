"""Handing a mail to the e-mail adapter from an activity: once, and with failures the
workflow's retry policy understands."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio.exceptions import ApplicationError

from adapters.email.base import EmailSender, OutgoingEmail, RecipientRejected, UnsafeHeader
from ebok.store.db import Store

RECIPIENT_REJECTED = "RecipientRejected"
UNSAFE_HEADER = "UnsafeHeader"


async def send_or_raise(sender: EmailSender, mail: OutgoingEmail) -> None:
    """Send; a permanent refusal becomes a non-retryable ApplicationError, anything else is
    left to propagate so Temporal retries it with back-off."""
    try:
        await sender.send(mail)
    except RecipientRejected as e:
        raise ApplicationError(str(e), type=RECIPIENT_REJECTED, non_retryable=True) from e
    except UnsafeHeader as e:
        raise ApplicationError(str(e), type=UNSAFE_HEADER, non_retryable=True) from e


async def deliver(
    store: Store, sender: EmailSender, mail: OutgoingEmail, kind: str, subject_id: str
) -> None:
    """Send and record the Message-ID; callers skip mails already recorded, so a retried
    activity does not send again once this has returned."""
    await send_or_raise(sender, mail)
    async with store.begin() as uow:
        await uow.mail.record(mail.message_id, kind, subject_id, datetime.now(UTC))
