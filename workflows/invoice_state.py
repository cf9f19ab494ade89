"""The state of one invoice's lifecycle and how operators see it: the ``status`` query, the
search attributes and the UI's current-details line. The process itself is in
``workflows/invoice.py``."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from temporalio import workflow
from temporalio.common import SearchAttributeKey
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from ebok.models import invoice as m
    from ebok.models.search import (
        EBOK_AMOUNT_DUE,
        EBOK_DEADLINE,
        EBOK_INVOICE,
        EBOK_OUTCOME,
        EBOK_PARTNER,
        EBOK_STATUS,
    )
    from ebok.money import Money
    from workflows.common import show
    from workflows.invoice_plan import Plan
    from workflows.invoice_rules import interest_basis


class InvoiceState:
    def __init__(self, inp: m.InvoiceInput) -> None:
        self._in, self._inv = inp, inp.invoice
        self._state = m.State.ISSUED
        self._totals = m.Totals(amount_due=inp.invoice.gross, paid=Money(0), credit=Money(0))
        self._plan = Plan(inp)
        self._delivery: Literal["email", "paper", "pending"] = "pending"
        self._paper = False  # customer notices go on paper: no consent, or the e-mail bounced
        self._inbox: list[tuple[m.PaymentArrived, str | None]] = []
        self._seen: set[str] = set()  # payments queued or applied: a repeat is dropped
        self._answered: dict[str, bool] = {}  # staff payments, for their update's answer
        self._payments = 0
        self._bounce: m.Bounced | None = None
        self._complaint: m.ComplaintFiled | None = None
        self._complaint_recorded = False
        self._complaints = 0
        self._suspended: list[str] = []
        self._lock = asyncio.Lock()  # one store-changing activity at a time
        self._wake = 0  # bumped by every message: the main loop re-plans
        self._detail = ""
        self._compensation: Money | None = None  # stated in the last demand
        self._notice_channel: Literal["letter", "email"] | None = None
        self._letter: m.LetterFate | None = None  # the current demand's registered letter
        self._figures: m.DemandFigures | None = None  # what the letter states, for a resend
        self._letter_failures = 0

    def _check_open(self) -> None:
        if self._state.final:
            raise ApplicationError(f"the invoice is {self._state.value}", type="WrongState")

    def _set(self, state: m.State) -> None:
        self._state = state
        self._show()

    def _show(self) -> None:
        values: dict[SearchAttributeKey[Any], Any] = {
            EBOK_INVOICE: self._inv.number,
            EBOK_PARTNER: self._inv.partner_number,
            EBOK_STATUS: self._state.value,
            EBOK_AMOUNT_DUE: self._totals.outstanding.grosze,
        }
        _, at = self._plan.next(self._complaint is not None)
        if at is not None and not self._state.final:
            values[EBOK_DEADLINE] = at
        if self._state.final:
            values[EBOK_OUTCOME] = self._state.value
        show(values)
        workflow.set_current_details(self._summary())

    def _summary(self) -> str:
        t = self._totals
        head = (
            f"Invoice {self._inv.number}: {self._state.value}; due {t.amount_due} by "
            f"{self._inv.due:%Y-%m-%d}, paid {t.paid}, outstanding {t.outstanding}"
        )
        if t.credit:
            head += f", credit {t.credit}"
        step, at = self._plan.next(self._complaint is not None)
        if self._complaint is not None:
            head += ". Complaint open: dunning paused; staff answer with `answer_complaint`"
        elif step is not None and at is not None and not self._state.final:
            head += f". Next: {step.value} at {at:%Y-%m-%d %H:%M} UTC"
        head += self._notice_summary()
        if self._suspended:
            head += f". Supply suspension filed ({', '.join(self._suspended)})"
        return head + (f". {self._detail}" if self._detail else "")

    def _notice_summary(self) -> str:
        if self._notice_channel is None or self._state.final:
            return ""
        plan, letter = self._plan, self._letter
        if self._notice_channel == "email":
            head = ". Notice e-mailed (electronic notices agreed)"
        elif letter is None:
            head = ". Notice letter not posted"
        else:
            head = f". Notice letter {letter.tracking_id}: {letter.state.value}"
            if letter.notice_left_on and letter.state.value == "awaiting_collection":
                head += f" (awizo {letter.notice_left_on:%Y-%m-%d})"
        if plan.received_on is None or plan.notice_until is None:
            return head + "; no suspension until its receipt is known"
        return (
            f"{head}; received {plan.received_on:%Y-%m-%d}, suspension not before "
            f"{plan.notice_until:%Y-%m-%d %H:%M} UTC"
        )

    @workflow.query(name=m.QUERY_STATUS)
    def status(self) -> m.InvoiceStatus:
        step, at = self._plan.next(self._complaint is not None)
        final = self._state.final
        return m.InvoiceStatus(
            number=self._inv.number,
            state=self._state,
            gross=self._inv.gross,
            amount_due=self._totals.amount_due,
            paid=self._totals.paid,
            outstanding=self._totals.outstanding,
            credit=self._totals.credit,
            due_date=self._inv.due,
            delivery=self._delivery,
            next_step=None if final else step,
            next_step_at=None if final else at,
            complaint_open=self._complaint is not None,
            notice_until=self._plan.notice_until,
            suspension_reference=", ".join(self._suspended) or None,
            reminders_sent=self._plan.reminders,
            payments=self._payments,
            detail=self._detail,
            debtor=self._in.debtor,
            interest_basis=interest_basis(self._in.debtor),
            recovery_compensation=self._compensation,
            notice_channel=self._notice_channel,
            letter_state=self._letter.state if self._letter else None,
            letter_tracking_id=self._letter.tracking_id if self._letter else None,
            notice_received_on=self._plan.received_on,
            earliest_suspension=self._plan.notice_until if self._notice_channel else None,
        )
