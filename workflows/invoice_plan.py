"""When the next dunning step of an invoice is due: pure bookkeeping, no Temporal calls, so
the workflow's timing rules can be read (and tested) in one place.

Times count from the start of the due date (the customer may pay all of that day):
reminder ``reminder_before`` ahead of it, the overdue reminder ``reminder_after`` past it, the
formal demand ``demand_after`` past it, and the suspension request when the demand's notice
period has run out. While a complaint is open only its escalation to staff is planned.
"""

from __future__ import annotations

from datetime import date, datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from ebok.models import invoice as m

_DUNNING = (m.Step.REMINDER_BEFORE, m.Step.REMINDER_AFTER, m.Step.DEMAND)


class Plan:
    def __init__(self, inp: m.InvoiceInput) -> None:
        self._in, self._due = inp, inp.due_start
        self._done: set[m.Step] = set()
        self.reminders = 0
        self.demands = 0
        self.demanded_at: datetime | None = None
        self.notice_until: datetime | None = None  # None after a demand: receipt unknown
        self.received_on: date | None = None  # the day the notice counts as received
        self.awaiting_receipt = False  # a demand served, its receipt not known yet
        self._complaint_at: datetime | None = None
        self._resume_at: datetime | None = None  # a demand served again after a complaint

    def started(self, now: datetime) -> None:
        """An invoice issued late gets no reminder for a day already past."""
        if self._at(m.Step.REMINDER_BEFORE) < now:
            self._done.add(m.Step.REMINDER_BEFORE)

    def next(self, complaint_open: bool) -> tuple[m.Step | None, datetime | None]:
        if complaint_open:
            if m.Step.ESCALATE_COMPLAINT in self._done or self._complaint_at is None:
                return None, None
            return m.Step.ESCALATE_COMPLAINT, self._at(m.Step.ESCALATE_COMPLAINT)
        for step in (*_DUNNING, m.Step.SUSPEND):
            if step in self._done:
                continue
            if step == m.Step.SUSPEND and self.notice_until is None:
                return None, None
            return step, self._at(step)
        return None, None

    def _at(self, step: m.Step) -> datetime:
        i = self._in
        if step == m.Step.REMINDER_BEFORE:
            return i.reminder_before_at
        if step == m.Step.REMINDER_AFTER:
            return self._due + i.reminder_after
        if step == m.Step.DEMAND:
            at = self._due + i.demand_after
            return max(at, self._resume_at) if self._resume_at else at
        if step == m.Step.SUSPEND:
            assert self.notice_until is not None
            return self.notice_until
        assert self._complaint_at is not None
        return self._complaint_at + i.complaint_deadline - i.complaint_escalation_margin

    def done(self, step: m.Step) -> None:
        self._done.add(step)

    def demand_served(self, now: datetime, *, await_receipt: bool = False) -> None:
        """With ``await_receipt``, the notice period runs only once :meth:`notice_received`
        says from when: until then no suspension is planned."""
        self.demands += 1
        self.demanded_at, self.received_on = now, None
        self.notice_until = None if await_receipt else now + self._in.notice_period
        self.awaiting_receipt = await_receipt

    def notice_received(self, on: date, until: datetime) -> None:
        self.received_on, self.notice_until, self.awaiting_receipt = on, until, False

    def notice_unknown(self) -> None:
        self.received_on, self.notice_until, self.awaiting_receipt = None, None, True

    @property
    def complaint_deadline(self) -> datetime | None:
        if self._complaint_at is None:
            return None
        return self._complaint_at + self._in.complaint_deadline

    def complaint_filed(self, at: datetime) -> None:
        self._complaint_at = at
        self._done.discard(m.Step.ESCALATE_COMPLAINT)

    def complaint_answered(self, now: datetime) -> None:
        """Dunning resumes; a demand already served is served again with a fresh notice
        period, as the complaint interrupted the old one."""
        self._complaint_at = None
        if m.Step.DEMAND in self._done and (self.notice_until is not None or self.awaiting_receipt):
            self._done -= {m.Step.DEMAND, m.Step.SUSPEND}
            self._resume_at, self.notice_until, self.received_on = now, None, None
            self.awaiting_receipt = False

    def waivable(self) -> m.Step | None:
        return next((s for s in _DUNNING if s not in self._done), None)

    def waive(self) -> m.Step:
        step = self.waivable()
        assert step is not None, "checked by the update's validator"
        self._done.add(step)
        return step
