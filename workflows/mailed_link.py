"""The single-use link a process mails and then waits on (account activation, e-invoice consent,
e-mail change: its confirmation link and its undo link).

The token is made, mailed and checked by activities (activities/links.py); this is the part the
workflows share: link numbers, the resend cooldown and cap, the mail with retries that stop at
the link's expiry, and the expiry timer, which a redemption started before the deadline beats.
The owning workflow keeps its own state and decides what each :class:`LinkEvent` means for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from ebok.models.links import LinkPending
    from workflows.common import EMAIL_RETRY, EMAIL_TIMEOUT, error_type, run_activity

P = TypeVar("P", bound=LinkPending)
# Builds the mail activity's argument from the link's number, issue time and expiry.
MailArg = Callable[[int, datetime, datetime], object]


class LinkEvent(Enum):
    SENT = "sent"
    REFUSED = "refused"  # the relay refused the address for good
    NOT_SENT = "not_sent"  # retries ran out before the link expired
    EXPIRED = "expired"  # nobody used the newest link in time


class MailedLink:
    def __init__(self, ttl: timedelta, cooldown: timedelta, limit: int) -> None:
        self._ttl, self._cooldown, self._limit = ttl, cooldown, limit
        self.ordered = 0  # link numbers handed out by updates
        self.sent = 0  # link numbers whose mail went out
        self.issued_at: datetime | None = None
        self.expires_at: datetime | None = None
        self._redeeming = 0

    def order(self, answer: type[P], since: datetime | None = None) -> P:
        """A new link from now on, or from ``since`` (the event that made the link, when it
        was recorded earlier in this workflow task); the activity that mails it revokes the
        older ones."""
        now = since or workflow.now()
        self.ordered += 1
        self.issued_at, self.expires_at = now, now + self._ttl
        return answer(
            link_number=self.ordered,
            expires_at=self.expires_at,
            next_resend_at=self.next_resend_at(),
            resends_left=self.resends_left(),
        )

    def check_resend(self) -> None:
        """For an update validator: the cap first, then the cooldown (with the retry time)."""
        if self.resends_left() <= 0:
            raise ApplicationError("no resends left", type="ResendLimit")
        retry_at = self.next_resend_at()
        if retry_at is not None and workflow.now() < retry_at:
            raise ApplicationError(
                f"a new link can be sent from {retry_at.isoformat()}",
                retry_at.isoformat(),
                type="RateLimited",
            )

    def resends_left(self) -> int:
        return max(self._limit - max(self.ordered - 1, 0), 0)

    def next_resend_at(self) -> datetime | None:
        if self.issued_at is None or self.resends_left() <= 0:
            return None
        return self.issued_at + self._cooldown

    @property
    def busy(self) -> bool:
        """A redemption is under way (an update validator may refuse to cancel meanwhile)."""
        return self._redeeming > 0

    @contextmanager
    def redeeming(self) -> Iterator[None]:
        """Around a redemption: the expiry waits for it to finish."""
        self._redeeming += 1
        try:
            yield
        finally:
            self._redeeming -= 1

    async def advance(
        self, send: str, arg: MailArg, waiting: Callable[[], bool]
    ) -> LinkEvent | None:
        """One step while ``waiting()`` (the process waits for the link to be used): mail the
        newest link if it has not gone out, otherwise wait for the process to move on, a new
        link, or the expiry. None: nothing for the caller to do."""
        if self.sent < self.ordered:
            return await self._mail(send, arg, self.ordered, waiting)
        assert self.expires_at is not None
        deadline, ordered = self.expires_at, self.ordered
        try:
            await workflow.wait_condition(
                lambda: not waiting() or self.ordered != ordered,
                timeout=max(deadline - workflow.now(), timedelta(0)),
            )
        except TimeoutError:
            # A redemption that started before the deadline decides, not the timer.
            await workflow.wait_condition(lambda: self._redeeming == 0)
            if waiting():
                return LinkEvent.EXPIRED
        return None

    async def _mail(
        self, send: str, arg: MailArg, number: int, waiting: Callable[[], bool]
    ) -> LinkEvent | None:
        assert self.issued_at is not None and self.expires_at is not None
        try:
            await run_activity(
                send,
                arg(number, self.issued_at, self.expires_at),
                timeout=EMAIL_TIMEOUT,
                retry=EMAIL_RETRY,
                # No point retrying past the link's own expiry.
                schedule_to_close=max(self.expires_at - workflow.now(), timedelta(seconds=1)),
            )
        except ActivityError as err:
            # Refused for good, or retries ran out before the link expired: nobody can use it.
            self.sent = number
            if not waiting():
                return None
            refused = error_type(err) == "RecipientRejected"
            return LinkEvent.REFUSED if refused else LinkEvent.NOT_SENT
        self.sent = max(self.sent, number)
        return LinkEvent.SENT

    def status(self) -> dict[str, Any]:
        """The link's fields of a ``status`` query answer."""
        return {
            "links_sent": self.sent,
            "expires_at": self.expires_at,
            "next_resend_at": self.next_resend_at(),
            "resends_left": self.resends_left(),
        }

    def summary(self) -> str:
        """The link's part of the UI summary."""
        assert self.expires_at is not None
        sent = "sent" if self.sent >= self.ordered else "being sent"
        return (
            f"Link {self.ordered} {sent}, expires {self.expires_at:%Y-%m-%d %H:%M} UTC; "
            f"{self.resends_left()} resend(s) left (update `resend`)."
        )
