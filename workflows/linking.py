"""Partner linking: match the customer's invoice data → the grid operator confirms a separate
distribution contract for every PPE of the partner → linked, or refused with a reason the
customer can act on. Operator down → retries with back-off; no answer in time → staff decide.

The workflow is the lock-out too: wrong attempts are counted here, so the count survives
crashes and an operator can see it.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from ebok.models import linking as m
    from workflows.common import (
        EMAIL_RETRY,
        EMAIL_TIMEOUT,
        PERMANENT,
        ensure_process_attribute,
        error_type,
        run_activity,
        run_store_step,
        show_status,
    )

OPERATOR_TIMEOUT = timedelta(seconds=30)
# Retried by the server until the review time (schedule-to-close): hours of outage cost the
# history nothing, and the UI shows the attempt count and last failure of the pending check.
OPERATOR_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=10),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=30),
    non_retryable_error_types=PERMANENT,
)
MAX_ESCALATIONS = 5

_ACCEPTING = (m.State.WAITING_FOR_ATTEMPT, m.State.LOCKED)
_DECIDABLE = (m.State.CHECKING_WITH_OPERATOR, m.State.AWAITING_STAFF)
_REFUSALS = {
    "no_contract": m.Refusal.NO_CONTRACT,
    "other_party": m.Refusal.OTHER_PARTY,
    "unknown_ppe": m.Refusal.UNKNOWN_PPE,
}


@workflow.defn(name=m.WORKFLOW_TYPE)
class PartnerLinking:
    @workflow.init
    def __init__(self, inp: m.LinkingInput) -> None:
        self._in = inp
        self._state = m.State.WAITING_FOR_ATTEMPT
        self._failed = 0
        self._attempts = 0  # every `link` update, to restart the idle clock
        self._matching = False
        self._locked_until: datetime | None = None
        self._request: m.LinkRequest | None = None
        self._ppes: list[str] = []
        self._already_linked = False
        self._answered = 0  # PPEs the operator has answered for
        self._review_at: datetime | None = None
        self._waiting_since: datetime | None = None
        self._escalations = 0
        self._decision: tuple[bool, m.StaffDecision] | None = None
        self._refusal: m.Refusal | None = None
        self._refused_ppes: list[str] = []
        self._detail = ""

    # --- the process --------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: m.LinkingInput) -> m.LinkingStatus:
        ensure_process_attribute("linking")
        self._set(self._state)  # a `link` update may already have moved it
        while self._state not in (m.State.LINKED, m.State.REJECTED, m.State.ABANDONED):
            if self._state == m.State.LOCKED:
                assert self._locked_until is not None
                await workflow.sleep(max(self._locked_until - workflow.now(), timedelta(0)))
                self._set(m.State.WAITING_FOR_ATTEMPT)
            elif self._state == m.State.WAITING_FOR_ATTEMPT:
                await self._await_attempt()
            elif self._state == m.State.CHECKING_WITH_OPERATOR:
                await self._ask_operator()
            else:
                await self._await_staff()
        await self._conclude()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    async def _await_attempt(self) -> None:
        seen = self._attempts
        try:
            await workflow.wait_condition(
                lambda: self._state != m.State.WAITING_FOR_ATTEMPT or self._attempts != seen,
                timeout=self._in.idle_timeout,
            )
        except TimeoutError:
            await workflow.wait_condition(lambda: not self._matching)
            if self._state == m.State.WAITING_FOR_ATTEMPT:
                self._detail = "no attempt for a long time"
                self._set(m.State.ABANDONED)

    async def _ask_operator(self) -> None:
        """Every PPE must be confirmed. The operator being down is retried by the server with
        back-off (no history per attempt; the UI's pending activity shows the count) until the
        review time; then, or on a permanent refusal, staff decide. Staff may decide earlier."""
        assert self._request is not None and self._review_at is not None
        answers: list[m.ContractVerdict] = []
        for ppe in self._ppes:
            remaining = self._review_at - workflow.now()
            if remaining <= timedelta(0):
                break
            check = asyncio.create_task(
                run_activity(
                    m.CHECK_CONTRACT,
                    m.ContractCheck(
                        account_id=self._in.account_id,
                        partner_number=self._request.partner_number,
                        ppe=ppe,
                    ),
                    result_type=m.ContractVerdict,
                    timeout=OPERATOR_TIMEOUT,
                    retry=OPERATOR_RETRY,
                    schedule_to_close=remaining,
                )
            )
            await workflow.wait_condition(
                lambda task=check: task.done() or self._decision is not None  # type: ignore[misc]
            )
            if not check.done():  # staff decided while the operator was silent
                check.cancel()
                await asyncio.gather(check, return_exceptions=True)
                self._apply_decision()
                return
            try:
                answers.append(check.result())
            except ActivityError as err:
                refused = error_type(err) == "OperatorRejected"
                self._detail = (
                    f"the operator refused the request: {err.cause}"
                    if refused
                    else "no answer from the operator in time"
                )
                self._set(m.State.AWAITING_STAFF)
                return
            self._answered = len(answers)
            self._refresh()
        if len(answers) < len(self._ppes):
            self._detail = "no answer from the operator in time"
            self._set(m.State.AWAITING_STAFF)
        else:
            self._decide(answers)

    def _decide(self, verdicts: list[m.ContractVerdict]) -> None:
        refused = [v for v in verdicts if v.status != "confirmed"]
        if not refused:
            self._set(m.State.LINKED)
            return
        first = refused[0]
        self._refusal = (
            m.Refusal.COMPREHENSIVE_CONTRACT
            if first.contract_type == "comprehensive"
            else _REFUSALS[first.status]
        )
        self._refused_ppes = [v.ppe for v in refused]
        self._set(m.State.REJECTED)

    async def _await_staff(self) -> None:
        self._waiting_since = self._waiting_since or workflow.now()
        self._refresh()
        while self._decision is None:
            try:
                await workflow.wait_condition(
                    lambda: self._decision is not None, timeout=self._in.staff_patience
                )
            except TimeoutError:
                if self._escalations < MAX_ESCALATIONS:
                    self._escalations += 1
                    await run_activity(
                        m.ESCALATE,
                        m.Escalate(
                            account_id=self._in.account_id,
                            partner_number=self._partner,
                            waiting_since=self._waiting_since,
                            serial=self._escalations,
                        ),
                        timeout=EMAIL_TIMEOUT,
                        retry=EMAIL_RETRY,
                    )
                    self._refresh()
        self._apply_decision()

    def _apply_decision(self) -> None:
        assert self._decision is not None
        approved, decision = self._decision
        self._detail = f"{'approved' if approved else 'refused'} by {decision.staff}"
        if not approved:
            self._refusal = m.Refusal.STAFF
        self._set(m.State.LINKED if approved else m.State.REJECTED)

    async def _conclude(self) -> None:
        if self._state == m.State.ABANDONED or self._already_linked:
            return
        assert self._request is not None
        if self._state == m.State.LINKED:
            recorded: m.LinkRecorded = await run_store_step(
                m.RECORD_LINK,
                m.RecordLink(
                    account_id=self._in.account_id,
                    partner_number=self._partner,
                    method="staff"
                    if self._decision
                    else ("ppe" if self._request.ppe else "invoice"),
                    at=workflow.now(),
                    allow_shared_partner=self._in.allow_shared_partner,
                ),
                result_type=m.LinkRecorded,
            )
            if recorded.taken:  # another account won the partner meanwhile
                self._refusal = m.Refusal.PARTNER_TAKEN
                self._set(m.State.REJECTED)
        await run_activity(
            m.NOTIFY_CUSTOMER,
            m.NotifyCustomer(
                account_id=self._in.account_id,
                partner_number=self._partner,
                linked=self._state == m.State.LINKED,
                refusal=self._refusal,
                ppes=self._refused_ppes,
                staff_reason=self._decision[1].reason if self._decision else "",
            ),
            timeout=EMAIL_TIMEOUT,
            retry=EMAIL_RETRY,
        )

    # --- messages -----------------------------------------------------------------------------

    @workflow.update
    async def link(self, req: m.LinkRequest) -> m.LinkAnswer:
        self._matching = True
        self._attempts += 1
        try:
            found: m.MatchResult = await run_store_step(
                m.MATCH,
                m.MatchRequest(
                    account_id=self._in.account_id,
                    request=req,
                    invoices_since=workflow.now() - self._in.invoice_max_age,
                    allow_shared_partner=self._in.allow_shared_partner,
                ),
                result_type=m.MatchResult,
            )
        finally:
            self._matching = False
        if found.already_linked:
            self._request, self._already_linked = req, True
            self._set(m.State.LINKED)
            return self._answer(m.Outcome.LINKED)
        if found.taken:
            return self._answer(m.Outcome.PARTNER_TAKEN)
        if not found.matched:
            self._failed += 1
            if self._failed >= self._in.max_failed_attempts:
                self._failed = 0
                self._locked_until = workflow.now() + self._in.lockout
                self._set(m.State.LOCKED)
                return self._answer(m.Outcome.LOCKED)
            self._refresh()
            return self._answer(m.Outcome.NO_MATCH)
        self._request, self._ppes = req, found.ppes
        self._review_at = workflow.now() + self._in.operator_patience
        self._set(m.State.CHECKING_WITH_OPERATOR)
        return self._answer(m.Outcome.CHECKING)

    @link.validator
    def _check_link(self, req: m.LinkRequest) -> None:
        if self._matching:
            raise ApplicationError("the previous attempt is still being checked", type="Busy")
        if self._state == m.State.LOCKED and self._locked_until:
            raise ApplicationError(
                f"linking locked until {self._locked_until.isoformat()}",
                self._locked_until.isoformat(),
                type="RateLimited",
            )
        if self._state not in _ACCEPTING:
            raise ApplicationError(f"linking is {self._state.value}", type="WrongState")

    @workflow.update
    async def approve(self, decision: m.StaffDecision) -> m.LinkingStatus:
        self._decision = (True, decision)
        return self.status()

    @workflow.update
    async def reject(self, decision: m.StaffDecision) -> m.LinkingStatus:
        self._decision = (False, decision)
        return self.status()

    @approve.validator
    def _check_approve(self, decision: m.StaffDecision) -> None:
        self._check_decidable()

    @reject.validator
    def _check_reject(self, decision: m.StaffDecision) -> None:
        self._check_decidable()

    def _check_decidable(self) -> None:
        if self._state not in _DECIDABLE or self._decision is not None:
            raise ApplicationError(
                f"nothing to decide: linking is {self._state.value}", type="WrongState"
            )

    @workflow.query
    def status(self) -> m.LinkingStatus:
        return m.LinkingStatus(
            account_id=self._in.account_id,
            state=self._state,
            partner_number=self._request.partner_number if self._request else None,
            failed_attempts=self._failed,
            attempts_left=self._in.max_failed_attempts - self._failed,
            locked_until=self._locked_until if self._state == m.State.LOCKED else None,
            ppes=self._ppes,
            ppes_answered=self._answered,
            waiting_since=self._waiting_since,
            refusal=self._refusal,
            detail=self._detail,
        )

    # --- helpers ------------------------------------------------------------------------------

    @property
    def _partner(self) -> str:
        assert self._request is not None
        return self._request.partner_number

    def _answer(self, outcome: m.Outcome) -> m.LinkAnswer:
        return m.LinkAnswer(
            outcome=outcome,
            attempts_left=self._in.max_failed_attempts - self._failed,
            retry_at=self._locked_until if outcome == m.Outcome.LOCKED else None,
        )

    def _set(self, state: m.State) -> None:
        self._state = state
        deadline = {
            m.State.LOCKED: self._locked_until,
            m.State.CHECKING_WITH_OPERATOR: self._review_at,
        }.get(state)
        final = state in (m.State.LINKED, m.State.REJECTED, m.State.ABANDONED)
        show_status(state.value, deadline=deadline, final=final)
        self._refresh()

    def _refresh(self) -> None:
        """Details only: no search-attribute write, so no history event."""
        workflow.set_current_details(self._summary())

    def _summary(self) -> str:
        s, n = self._state, self._in.max_failed_attempts
        if s == m.State.WAITING_FOR_ATTEMPT:
            return f"Partner linking: waiting for invoice data ({self._failed}/{n} wrong attempts)."
        if s == m.State.LOCKED:
            until = f"{self._locked_until:%Y-%m-%d %H:%M} UTC" if self._locked_until else "-"
            return f"Partner linking: locked after {n} wrong attempts until {until}."
        if s == m.State.CHECKING_WITH_OPERATOR:
            review = f"{self._review_at:%Y-%m-%d %H:%M} UTC" if self._review_at else "-"
            return (
                f"Partner linking: asking the grid operator, {self._answered} of "
                f"{len(self._ppes)} PPE(s) answered (retries: see the pending activity); "
                f"staff review from {review}. Staff may `approve`/`reject` now."
            )
        if s == m.State.AWAITING_STAFF:
            since = f"{self._waiting_since:%Y-%m-%d %H:%M} UTC" if self._waiting_since else "now"
            return (
                f"Partner linking: waiting for a staff decision (`approve`/`reject`) since "
                f"{since}; {self._escalations} escalation(s). {self._detail}"
            )
        if s == m.State.LINKED:
            return f"Partner linking: linked to partner {self._partner}."
        if s == m.State.REJECTED:
            refusal = self._refusal.value if self._refusal else "?"
            return f"Partner linking: refused ({refusal}). {self._detail}"
        return "Partner linking: abandoned (no attempt for a long time)."
