"""What the bare workflows share: their argument, timeouts and retry policy, and the call of a
no-op activity. Passed through the sandbox: it holds no state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

__all__ = [
    "LINK_TTL", "RETRY", "TIMEOUT", "UNTIL_REMINDER", "UNTIL_STEP2", "BareKey", "call",
]  # fmt: skip

TIMEOUT = timedelta(seconds=30)
# Ours waits on a timer until the first reminder, 3 days before a 14-day due date.
UNTIL_REMINDER = timedelta(days=11)
# Ours waits for the request, then for the confirmation, each at most as long as a link lives.
LINK_TTL = timedelta(hours=72)
# A registration waits for step 2 at most this long (EBOK_REGISTRATION_PASSWORD_TIMEOUT).
UNTIL_STEP2 = timedelta(hours=24)
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))


@dataclass(frozen=True)
class BareKey:
    key: str


async def call(name: str, arg: object) -> None:
    """One no-op activity, with the timeout and retry policy of ours."""
    await workflow.execute_activity(name, arg, start_to_close_timeout=TIMEOUT, retry_policy=RETRY)
