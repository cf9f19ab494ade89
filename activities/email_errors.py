"""How an e-mail adapter's failure looks to a workflow's retry policy."""

from __future__ import annotations

from temporalio.exceptions import ApplicationError

from adapters.email.base import EmailSender, OutgoingEmail, RecipientRejected, UnsafeHeader

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
