"""The watch on an operator ticket, run beside an incident's loop.

One ``outage.watch_ticket`` activity asks the DSO and fails as a benign ``Unchanged`` while the
ticket is as the incident last knew it, so the server retries it every ``poll_interval`` and
the history records nothing until there is news. A look by timer and activity wrote eleven
events each time (two for the timer, three for the activity, two workflow tasks).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    RetryState,
    is_cancelled_exception,
)
from temporalio.exceptions import TimeoutError as ActivityTimeout

with workflow.unsafe.imports_passed_through():
    from ebok.models import outage as m
    from workflows.common import PERMANENT

WATCH_TIMEOUT = timedelta(seconds=30)  # one look at the ticket
# How long one watch runs before it starts again: its retries in between write nothing to the
# history, and a DSO unreachable for that long is logged.
WATCH_SPAN = timedelta(hours=6)


class TicketWatch:
    """At most one watch, asking from the baseline it was last given."""

    def __init__(
        self, poll_interval: timedelta, on_news: Callable[[m.OperatorStatus], None]
    ) -> None:
        self._every, self._on_news = poll_interval, on_news
        self._task: asyncio.Task[None] | None = None
        self._req: m.WatchRequest | None = None  # what the running watch asks

    def keep(self, want: m.WatchRequest | None) -> None:
        """Watch as ``want`` says (``None``: not at all). A running watch with another baseline
        is replaced, so it never brings back what the incident knows already (from the
        webhook, say) and never misses what came after."""
        if self._task is not None and not self._task.done() and want == self._req:
            return
        self.stop()
        if want is not None:
            self._req = want
            self._task = asyncio.create_task(self._run(want))

    def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()  # an activity waiting for its next retry is dropped at once
        self._task, self._req = None, None

    async def _run(self, req: m.WatchRequest) -> None:
        retry = RetryPolicy(
            initial_interval=self._every,
            backoff_coefficient=1.0,
            maximum_interval=self._every,
            non_retryable_error_types=PERMANENT,
        )
        span = max(WATCH_SPAN, 2 * self._every)
        while True:
            try:
                status: m.OperatorStatus = await workflow.execute_activity(
                    m.WATCH_TICKET,
                    req,
                    result_type=m.OperatorStatus,
                    start_to_close_timeout=WATCH_TIMEOUT,
                    schedule_to_close_timeout=span,
                    retry_policy=retry,
                )
            except ActivityError as err:
                if is_cancelled_exception(err):
                    return
                last = err.cause.cause if isinstance(err.cause, ActivityTimeout) else err.cause
                if err.retry_state == RetryState.TIMEOUT:
                    # The span is over (the server stops once the next try would not fit).
                    if not (isinstance(last, ApplicationError) and last.type == m.UNCHANGED):
                        workflow.logger.warning(
                            "no answer about %s for %s (%s); watching on", req.reference, span, last
                        )
                    continue
                # Refused (an unknown reference, say): asking every interval would not help.
                workflow.logger.warning(
                    "watching %s failed (%s); trying again in %s", req.reference, last, span
                )
                await workflow.sleep(span)
                continue
            if self._req is req:  # not replaced meanwhile by a newer baseline
                self._on_news(status)
            return
