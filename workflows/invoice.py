"""Invoice lifecycle: issued → delivered (e-mail with PDF and pay link, or paper) → paid; or
reminded before and after the due date, formally demanded 30 days overdue with the statutory
notice, and reported to the grid operator for supply suspension when the notice runs out.

One workflow per invoice. Every dunning step is a durable timer and happens at most once
(the demand is served again only after an answered complaint); a complaint pauses dunning and
withdraws a filed suspension; payments arrive as signals naming a payment, which an activity
applies once in the store. Messages only queue work and wake the main loop, so a duplicate
signal costs a signal event and nothing else.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import assert_never

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    # stdnum.iban imports its country module on first use, which would happen in the sandbox
    # when an invoice's NRB is decoded: passed through here instead.
    import stdnum.pl  # noqa: F401

    from ebok.models import invoice as m
    from ebok.models.post import received_on
    from workflows.common import (
        EMAIL_RETRY,
        EMAIL_TIMEOUT,
        ensure_process_attribute,
        run_activity,
        run_store_step,
    )
    from workflows.invoice_rules import (
        Action,
        action_for,
        demand_charges,
        suspension_not_before,
    )
    from workflows.invoice_state import InvoiceState

PAYMENT_TIMEOUT = timedelta(seconds=60)  # asks the provider, then writes the store
LATE_PAYMENTS = "invoice-late-payments"  # patch: payments signalled after settling count
# patch: the notice period runs from the day the notice was received (a registered letter's
# delivery, refusal or deemed delivery; an e-mail only where the customer agreed to electronic
# notices), no longer from the day it was sent
POSTAL_NOTICE = "invoice-postal-notice"
LETTER_TIMEOUT = timedelta(seconds=60)  # renders the notice, asks the post, writes the store


@workflow.defn(name=m.WORKFLOW_TYPE)
class InvoiceLifecycle(InvoiceState):
    @workflow.init
    def __init__(self, inp: m.InvoiceInput) -> None:
        super().__init__(inp)

    # --- the process --------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: m.InvoiceInput) -> m.InvoiceStatus:
        ensure_process_attribute("invoice")
        self._show()
        async with self._lock:
            self._totals = await run_store_step(
                m.RECORD,
                m.RecordInvoice(invoice=self._inv, at=workflow.now()),
                result_type=m.Totals,
            )
            if self._state == m.State.ISSUED:  # a staff `cancel` may have come first
                delivered = await self._notify("issued", m.State.OPEN)
                # A consent granted later counts from the next invoice: this one stays on paper.
                self._delivery, self._paper = delivered.channel, delivered.channel == "paper"
                self._set(m.State.OPEN)
        self._plan.started(workflow.now())
        while not self._state.final:
            await self._handle_messages()
            if self._state.final:
                break
            step, at = self._plan.next(self._complaint is not None)
            seen = self._wake
            if at is not None and at <= workflow.now():
                await self._take(step)
                continue
            try:
                await workflow.wait_condition(
                    lambda seen=seen: self._wake != seen,  # type: ignore[misc]
                    timeout=(at - workflow.now()) if at is not None else None,
                )
            except TimeoutError:
                await self._take(step)
        await self._conclude()
        while True:
            await workflow.wait_condition(workflow.all_handlers_finished)
            if not self._inbox:
                return self.status()
            await self._apply_late()

    async def _apply_late(self) -> None:
        """Payments that came after the invoice was settled or cancelled, while the workflow
        was still running: their signal was accepted, so they are booked (as a credit)."""
        async with self._lock:
            while self._inbox:
                payment, staff = self._inbox.pop(0)
                await self._apply(payment, staff)

    async def _handle_messages(self) -> None:
        async with self._lock:
            while self._inbox:
                payment, staff = self._inbox.pop(0)
                await self._apply(payment, staff)
            if self._bounce is not None and not self._paper:
                self._paper = True
                self._delivery = "paper"
                await run_activity(
                    m.PAPER_FALLBACK,
                    m.PaperFallback(number=self._inv.number, detail=self._bounce.detail),
                    timeout=EMAIL_TIMEOUT,
                    retry=EMAIL_RETRY,
                )
            if self._complaint is not None and not self._complaint_recorded:
                self._complaint_recorded = True
                await self._record(f"complaint:{self._complaint.reference}", "complaint filed")
                await self._withdraw("complaint")
            if self._totals.outstanding.grosze == 0 and not self._state.final:
                self._set(m.State.PAID)

    async def _apply(self, payment: m.PaymentArrived, staff: str | None) -> None:
        key = f"{payment.source}:{payment.reference}"
        totals: m.Totals = await run_activity(
            m.APPLY_PAYMENT,
            m.ApplyPayment(
                number=self._inv.number, payment=payment, staff=staff, at=workflow.now()
            ),
            result_type=m.Totals,
            timeout=PAYMENT_TIMEOUT,
        )
        self._totals = totals
        if totals.applied:
            self._payments += 1
        elif payment.source == "provider" and totals.detail.startswith("the provider says"):
            self._seen.discard(key)  # not completed yet: a later notification may count
        if staff is not None:
            self._answered[key] = totals.applied
        self._detail = totals.detail
        self._show()

    async def _take(self, step: m.Step | None) -> None:
        assert step is not None
        action = action_for(step)  # an unknown step stops here, before anything is done
        self._plan.done(step)
        if action is Action.ESCALATE:
            assert self._complaint is not None
            await run_activity(
                m.ESCALATE,
                m.Escalate(
                    number=self._inv.number,
                    reason="complaint_deadline",
                    deadline=self._plan.complaint_deadline,
                    serial=self._complaints,
                ),
                timeout=EMAIL_TIMEOUT,
                retry=EMAIL_RETRY,
            )
            return
        async with self._lock:
            if self._totals.outstanding.grosze == 0 or self._state.final:
                return
            match action:
                case Action.REMIND if step is m.Step.REMINDER_BEFORE:
                    await self._notify("reminder_before", m.State.OPEN)
                case Action.REMIND:
                    await self._notify("reminder_after", m.State.OVERDUE)
                    self._set(m.State.OVERDUE)
                case Action.DEMAND:
                    await self._demand()
                case Action.FILE_SUSPENSION:
                    await self._file_suspension()
                case _:
                    assert_never(action)

    async def _demand(self) -> None:
        now = workflow.now()
        postal = workflow.patched(POSTAL_NOTICE)
        self._plan.demand_served(now, await_receipt=postal)
        charges = demand_charges(
            self._in, self._totals.amount_due, self._totals.outstanding, now.date()
        )
        figures = charges.figures()
        self._compensation = figures.compensation
        if charges.problems:  # a rate missing from the settings: staff read why in the UI
            self._detail = "; ".join(charges.problems)
        if not postal:  # histories from before: the period ran from the sending
            await self._notify("demand", m.State.DEMANDED, charges=figures)
            self._set(m.State.DEMANDED)
            return
        self._letter = None
        if self._in.electronic_notices and not self._paper:
            # Civil Code art. 61 § 2: an electronic declaration is made when it reaches the
            # addressee's means of communication so that they could read it: the relay's
            # acceptance, today.
            today = now.date()
            self._plan.notice_received(today, suspension_not_before(today, self._in.notice_period))
            delivered = await self._notify("demand", m.State.DEMANDED, charges=figures)
            if delivered.channel == "email":
                self._notice_channel = "email"
                self._set(m.State.DEMANDED)
                return
            self._plan.notice_unknown()  # no address or a bounce: the letter below counts
        self._figures = figures
        await self._send_letter(figures)
        self._set(m.State.DEMANDED)

    async def _send_letter(self, figures: m.DemandFigures) -> None:
        """The written notice by registered post; its period starts when the post reports
        the letter received (the ``letter`` signal)."""
        self._notice_channel = "letter"
        try:
            fate: m.LetterFate = await run_activity(
                m.SEND_NOTICE_LETTER,
                m.SendNoticeLetter(
                    number=self._inv.number,
                    serial=self._plan.demands,
                    outstanding=self._totals.outstanding,
                    due_date=self._inv.due,
                    at=workflow.now(),
                    **figures.model_dump(),
                ),
                result_type=m.LetterFate,
                timeout=LETTER_TIMEOUT,
            )
        except ActivityError as err:  # no address, refused by the post: staff must act
            self._detail = f"notice letter not sent: {err.cause}"
            self._letter_failures += 1
            self._show()
            await run_activity(
                m.ESCALATE,
                m.Escalate(
                    number=self._inv.number,
                    reason="notice_letter",
                    serial=self._letter_failures,
                    detail=str(err.cause)[:200],
                ),
                timeout=EMAIL_TIMEOUT,
                retry=EMAIL_RETRY,
            )
            return
        self._detail = ""
        self._letter_fate(fate)

    def _letter_fate(self, fate: m.LetterFate) -> None:
        """The post's news of the current notice letter. The first final state wins: a late
        or repeated report never moves the receipt day."""
        current = self._letter
        if current is not None and (current.tracking_id != fate.tracking_id or current.state.final):
            return
        if current is None and fate.key != m.letter_key(self._inv.number, self._plan.demands):
            return
        self._letter = fate
        day = received_on(fate)
        if day is not None and self._plan.awaiting_receipt:
            self._plan.notice_received(day, suspension_not_before(day, self._in.notice_period))
        self._show()

    async def _file_suspension(self) -> None:
        assert self._plan.demanded_at is not None and self._plan.notice_until is not None
        received = self._plan.received_on
        try:
            filed: m.SuspensionFiled = await run_activity(
                m.FILE_SUSPENSION,
                m.FileSuspension(
                    number=self._inv.number,
                    serial=self._plan.demands,
                    notice_served_at=(
                        self._plan.demanded_at
                        if received is None
                        else datetime.combine(received, time(0), tzinfo=UTC)
                    ),
                    not_before=self._plan.notice_until,
                ),
                result_type=m.SuspensionFiled,
            )
        except ActivityError as err:
            self._detail = f"suspension not filed: {err.cause}"
            self._show()
            return
        self._suspended = filed.references
        self._set(m.State.SUSPENSION_FILED)

    async def _withdraw(self, reason: str) -> None:
        if not self._suspended:
            return
        await run_activity(
            m.WITHDRAW_SUSPENSION,
            m.WithdrawSuspension(number=self._inv.number, reason=reason, at=workflow.now()),
            result_type=int,
        )
        self._suspended = []
        if not self._state.final:
            self._set(m.State.DEMANDED)

    async def _conclude(self) -> None:
        async with self._lock:
            await self._withdraw("paid" if self._state == m.State.PAID else "cancelled")
            if self._state == m.State.PAID:
                await self._notify("paid", m.State.PAID)

    async def _notify(
        self, kind: m.NoticeKind, state: m.State, *, charges: m.DemandFigures | None = None
    ) -> m.Delivered:
        serial = self._plan.demands if kind == "demand" else 1
        delivered: m.Delivered = await run_activity(
            m.NOTIFY,
            m.Notify(
                number=self._inv.number,
                kind=kind,
                serial=max(serial, 1),
                state=state,
                paper_only=self._paper,
                outstanding=self._totals.outstanding,
                due_date=self._inv.due,
                notice_until=self._plan.notice_until if kind == "demand" else None,
                at=workflow.now() if kind == "demand" else None,
                **(charges.model_dump() if charges else {}),
            ),
            result_type=m.Delivered,
            timeout=EMAIL_TIMEOUT,
            retry=EMAIL_RETRY,
        )
        if delivered.bounced:
            self._paper, self._delivery = True, "paper"
        if kind.startswith("reminder"):
            self._plan.reminders += 1
        return delivered

    async def _record(self, event: str, detail: str, actor: str = "workflow") -> None:
        await run_activity(
            m.RECORD_STATE,
            m.RecordState(
                number=self._inv.number,
                state=self._state,
                event=event[:64],
                detail=detail[:500],
                actor=actor,
                at=workflow.now(),
            ),
        )

    # --- messages -----------------------------------------------------------------------------

    @workflow.signal(name=m.SIGNAL_PAYMENT)
    def payment(self, p: m.PaymentArrived) -> None:
        """A payment to apply (provider notification or bank transfer); repeats are dropped."""
        self._queue(p, None)

    @workflow.update(name=m.UPDATE_RECORD_PAYMENT)
    async def record_payment(self, req: m.RecordPayment) -> m.InvoiceStatus:
        key = self._queue(
            m.PaymentArrived(
                source="staff",
                reference=req.reference,
                amount=req.amount,
                received_at=req.received_at,
            ),
            req.staff,
        )
        await workflow.wait_condition(lambda: key in self._answered or self._state.final)
        return self.status()

    @record_payment.validator
    def _check_record_payment(self, req: m.RecordPayment) -> None:
        self._check_open()

    def _queue(self, p: m.PaymentArrived, staff: str | None) -> str:
        key = f"{p.source}:{p.reference}"
        # A signal accepted after the invoice was settled is a payment the sender believes
        # delivered: dropping it lost the money from the books. Histories from before keep
        # dropping it on replay.
        late_ok = self._state.final and workflow.patched(LATE_PAYMENTS)
        if key not in self._seen and (not self._state.final or late_ok):
            self._seen.add(key)
            self._inbox.append((p, staff))
            self._wake += 1
        return key

    @workflow.signal(name=m.SIGNAL_BOUNCED)
    def bounced(self, b: m.Bounced) -> None:
        if self._bounce is None:
            self._bounce = b
            self._wake += 1

    @workflow.signal(name=m.SIGNAL_LETTER)
    def letter(self, fate: m.LetterFate) -> None:
        """What the post reports of the notice letter (from its webhook or a poll, through the
        facade); news of an older letter or after the end is dropped."""
        if not self._state.final and self._notice_channel == "letter":
            self._letter_fate(fate)
            self._wake += 1

    @workflow.signal(name=m.SIGNAL_COMPLAINT)
    def complaint(self, c: m.ComplaintFiled) -> None:
        """Dunning pauses until staff answer; one complaint at a time."""
        if self._complaint is None and not self._state.final:
            self._complaint, self._complaint_recorded = c, False
            self._complaints += 1
            self._plan.complaint_filed(c.filed_at or workflow.now())
            self._wake += 1

    @workflow.update(name=m.UPDATE_ANSWER_COMPLAINT)
    async def answer_complaint(self, a: m.AnswerComplaint) -> m.InvoiceStatus:
        await workflow.wait_condition(lambda: self._complaint_recorded)
        async with self._lock:
            await self._record(
                f"complaint-answered:{self._complaints}",
                f"{'upheld' if a.upheld else 'rejected'}: {a.answer}",
                a.staff,
            )
        self._complaint = None
        self._plan.complaint_answered(workflow.now())
        self._wake += 1
        self._show()
        return self.status()

    @answer_complaint.validator
    def _check_answer(self, a: m.AnswerComplaint) -> None:
        self._check_open()
        if self._complaint is None:
            raise ApplicationError("no complaint is open", type="WrongState")

    @workflow.update(name=m.UPDATE_CORRECT)
    async def correct(self, c: m.Correct) -> m.InvoiceStatus:
        async with self._lock:
            self._totals = await run_activity(
                m.CORRECT,
                m.CorrectionRequest(number=self._inv.number, correction=c, at=workflow.now()),
                result_type=m.Totals,
            )
        self._detail = f"corrected by {c.correction_number}"
        self._wake += 1
        self._show()
        return self.status()

    @correct.validator
    def _check_correct(self, c: m.Correct) -> None:
        self._check_open()
        if c.correction_number == self._inv.number:
            raise ApplicationError("a correction has its own number", type="WrongState")

    @workflow.update(name=m.UPDATE_WAIVE_REMINDER)
    async def waive_reminder(self, w: m.WaiveReminder) -> m.InvoiceStatus:
        step = self._plan.waive()
        async with self._lock:
            await self._record(f"waived:{step.value}", w.reason, w.staff)
        self._wake += 1
        self._show()
        return self.status()

    @waive_reminder.validator
    def _check_waive(self, w: m.WaiveReminder) -> None:
        self._check_open()
        if self._plan.waivable() is None:
            raise ApplicationError("no reminder or demand is pending", type="WrongState")

    @workflow.update(name=m.UPDATE_RESEND_NOTICE)
    async def resend_notice(self, r: m.ResendNotice) -> m.InvoiceStatus:
        assert self._figures is not None
        async with self._lock:
            await self._record(f"resend-notice:{self._letter_failures}", "notice letter", r.staff)
            await self._send_letter(self._figures)
        self._wake += 1
        self._show()
        return self.status()

    @resend_notice.validator
    def _check_resend_notice(self, r: m.ResendNotice) -> None:
        self._check_open()
        if self._notice_channel != "letter" or self._letter is not None or self._figures is None:
            raise ApplicationError("no notice letter is waiting to be posted", type="WrongState")

    @workflow.update(name=m.UPDATE_CANCEL)
    async def cancel(self, c: m.CancelInvoice) -> m.InvoiceStatus:
        async with self._lock:
            self._totals = await run_activity(
                m.CANCEL,
                m.CancelRequest(number=self._inv.number, cancel=c, at=workflow.now()),
                result_type=m.Totals,
            )
            self._detail = f"cancelled by {c.staff}: {c.reason}"
            self._set(m.State.CANCELLED)
        self._wake += 1
        return self.status()

    @cancel.validator
    def _check_cancel(self, c: m.CancelInvoice) -> None:
        self._check_open()
