"""Handing a mail to the e-mail adapter from an activity: once, and with failures the
workflow's retry policy understands."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from sqlalchemy.exc import DBAPIError
from temporalio.exceptions import ApplicationError

from adapters.email.base import EmailSender, OutgoingEmail, RecipientRejected, UnsafeHeader
from ebok.store.db import Store

log = logging.getLogger(__name__)

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


# How long to keep trying to record a mail that is already out. Failing instead means the
# activity's retry sends it again; the e-mail activities' start-to-close is 60 s.
RECORD_PATIENCE = 40.0


async def deliver(
    store: Store, sender: EmailSender, mail: OutgoingEmail, kind: str, subject_id: str
) -> None:
    """Send and record the Message-ID; callers skip mails already recorded, so a retried
    activity does not send again once this has returned.

    The send cannot be undone, so a database that is briefly unreachable right after it is
    waited out here (with back-off) rather than turned into a second copy of the mail."""
    await send_or_raise(sender, mail)
    delay, waited = 0.25, 0.0
    while True:
        try:
            await store.record_sent(
                mail.message_id, kind, subject_id, datetime.now(UTC), mail.subject
            )
            return
        except DBAPIError:
            if waited >= RECORD_PATIENCE:
                raise
            log.warning("recording sent mail %s failed; retrying in %.1f s", kind, delay)
            await asyncio.sleep(delay)
            waited += delay
            delay = min(delay * 2, 5.0)
