"""``OutageIncident``: one incident at the grid operator and every report of it.

Reports arrive by the ``attach`` signal (signal-with-start from the report's activity). The
first one decides: the DSO already knows the outage → follow its incident; else open ONE
ticket keyed by this workflow's id. Then the DSO's status (``operator_status`` signal from the
webhook, or the watch: one activity that the server retries every ``poll_interval`` until the
ticket has news) and the clocks (acknowledgement SLA, ETA, the legal 24 h) produce notices,
each mailed to all reporters by one activity that pages through the store. The workflow keeps
counts only, so thousands of reports cost one signal event each; it continues as new after
``reports_per_run`` reports or when the server suggests it.

How a status moves the incident and when each clock is due: ``workflows/incident_clock.py``;
what operators see (``status``, search attributes, the details line):
``workflows/incident_view.py``. This module does the I/O and the waiting.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Literal

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from ebok.models import outage as m
    from workflows.common import (
        EMAIL_RETRY,
        EMAIL_TIMEOUT,
        PERMANENT,
        ensure_process_attribute,
        error_type,
        run_activity,
        show,
    )
    from workflows.incident_clock import (
        FROM_OPERATOR,
        NOTICE_OF,
        compensation_due,
        escalation_due,
        eta_passed,
        interruption,
        legal_deadline,
        legal_limit,
        next_deadline,
        take_status,
    )
    from workflows.incident_view import current_details, incident_status, search_attributes
    from workflows.ticket_watch import TicketWatch

OPERATOR_TIMEOUT = timedelta(seconds=30)
OPERATOR_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    non_retryable_error_types=PERMANENT,
)
# A mail batch to thousands of reporters takes a while; the heartbeat shows it is alive and
# carries the cursor into a retry.
NOTIFY_TIMEOUT = timedelta(minutes=30)
NOTIFY_HEARTBEAT = timedelta(minutes=2)
# Patch id of the switch from a timer and a status activity every ``poll_interval`` to the
# ticket watch; histories from before it replay the poll.
WATCH_PATCH = "outage-watch-ticket"
# Patch id of finishing a merged incident only once its reports have moved: its last batch
# closed the reports it still had, and could catch them just as they joined the other one.
MERGE_PATCH = "outage-finish-after-merge"
# Patch id of recording an incident's end in the store before its last notice is mailed
# (older histories mailed first): a report made after that notice is a new report.
RELEASE_FIRST_PATCH = "outage-release-before-last-notice"
# Patch id of planned work having its legal limit (a timer at its end): older histories had no
# such timer. Asked in the first run only and carried in the memo.
PLANNED_LIMIT_PATCH = "outage-planned-work-limit"


@workflow.defn(name=m.INCIDENT_WORKFLOW)
class OutageIncident:
    @workflow.init
    def __init__(self, inp: m.IncidentInput) -> None:
        self._in, self._cfg = inp, inp.settings
        self._s = inp.memo or m.IncidentMemo()
        self._seen: set[str] = set()  # reports attached in this run: a re-sent signal counts once
        self._statuses: list[m.OperatorStatus] = []
        self._wake = 0  # bumped by messages that need the loop
        self._handled = 0  # the value of ``_wake`` the loop last acted on
        self._routing: asyncio.Task[None] | None = None
        self._merging = False  # the reports are moving to the incident this one joins
        self._watching = False  # by the watch (else by the poll, as older histories did)
        # News from the watch queues for the loop as the webhook's does.
        self._watch = TicketWatch(self._cfg.poll_interval, self.operator_status)
        # One notice batch at a time, in serial order: a reporter's mails arrive in order, and
        # the next batch sees what the previous one marked as told.
        self._notifying = asyncio.Lock()

    # --- the process --------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: m.IncidentInput) -> m.IncidentStatus:
        self._watching = workflow.patched(WATCH_PATCH)
        if inp.memo is None:  # a run continued as new keeps the rule its incident began with
            self._s.planned_limit = workflow.patched(PLANNED_LIMIT_PATCH)
        ensure_process_attribute("incident")
        self._show()
        if self._s.phase == m.Phase.FORMING:
            await workflow.wait_condition(lambda: self._s.first is not None)
            self._routing = asyncio.create_task(self._route())
        while not self._over():
            if self._routing is not None and self._routing.done():
                self._routing.result()  # a failed first step fails the incident, visibly
            if self._time_to_continue():
                self._watch.stop()  # the next run starts its own, from the memo's baseline
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    m.IncidentInput(
                        incident_id=inp.incident_id, area=inp.area, settings=self._cfg, memo=self._s
                    )
                )
            await self._step()
            if self._watching:
                self._watch.keep(self._watch_request())
        self._watch.stop()
        await run_activity(
            m.FINALIZE,
            m.Finalize(incident_id=inp.incident_id, phase=self._s.phase, at=workflow.now()),
            result_type=m.Counted,
            timeout=NOTIFY_TIMEOUT,
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    def _over(self) -> bool:
        s = self._s
        if not s.phase.terminal or s.ended_at is None:
            return False
        if s.phase == m.Phase.MERGED:
            return not self._merging
        return workflow.now() >= s.ended_at + self._cfg.reopen_grace

    def _time_to_continue(self) -> bool:
        if self._routing is not None and not self._routing.done():
            return False
        if self._s.phase == m.Phase.FORMING or self._statuses:
            return False
        return (
            len(self._seen) >= self._cfg.reports_per_run
            or workflow.info().is_continue_as_new_suggested()
        )

    async def _step(self) -> None:
        """Sleep until a deadline or a wake-up, then do whatever is due."""
        due = next_deadline(self._s, self._cfg, watching=self._watching)
        timeout = max(due - workflow.now(), timedelta(seconds=1)) if due else None
        try:
            await workflow.wait_condition(lambda: self._wake != self._handled, timeout=timeout)
        except TimeoutError:
            pass
        # Anything arriving while this step runs its activities wakes the next step at once.
        self._handled = self._wake
        now = workflow.now()
        s = self._s
        while self._statuses and s.phase != m.Phase.FORMING:
            status = self._statuses.pop(0)
            self._saw(status)
            await self._apply(status)
        if escalation_due(s, self._cfg, now):
            await self._escalate("no_acknowledgement")
        if s.phase.terminal or s.phase == m.Phase.FORMING:
            if s.unconfirmed and s.notice is not None:
                await self._confirm()
            return
        if compensation_due(s, self._cfg, now):
            await self._entitle()
            await self._announce(m.NoticeKind.COMPENSATION)
        if not self._watching and s.next_poll is not None and now >= s.next_poll:
            await self._poll()
        if eta_passed(s, now):
            await self._poll()  # one look at the ticket before telling anyone it is late
            if eta_passed(s, workflow.now()) and not s.phase.terminal:
                s.delayed_for = s.eta
                await self._announce(m.NoticeKind.DELAYED)
        if s.unconfirmed and s.confirm_at is not None and now >= s.confirm_at:
            await self._confirm()

    # --- the first report: follow the DSO's incident, or open the one ticket ------------------

    async def _route(self) -> None:
        s = self._s
        assert s.first is not None
        first = s.first
        outage = first.outage
        if outage is None:
            located: m.Located = await run_activity(
                m.LOOKUP,
                m.Lookup(ppe=first.ppe),
                result_type=m.Located,
                timeout=OPERATOR_TIMEOUT,
                retry=OPERATOR_RETRY,
            )
            outage = located.outage
        if outage is not None:
            await self._follow(outage)
        else:
            await self._open_ticket(first)
        self._wake += 1

    async def _follow(self, outage: m.Outage) -> None:
        s = self._s
        followed: m.Followed = await self._record_reference(outage.reference, outage.kind)
        if followed.owner != self._in.incident_id:  # another incident follows it already
            await self._merge_into(followed.owner, "the operator's incident is followed there")
            return
        if s.phase != m.Phase.FORMING:  # staff closed it meanwhile
            return
        s.reference, s.kind = outage.reference, outage.kind
        s.started_at = min(outage.started_at, s.started_at or outage.started_at)
        s.eta = outage.expected_restoration or outage.window_end
        s.window_end = outage.window_end
        if outage.state in (m.OperatorState.ACKNOWLEDGED, m.OperatorState.CREW_DISPATCHED):
            s.acknowledged_at = workflow.now()
        if outage.kind == m.Kind.PLANNED:
            s.phase = m.Phase.PLANNED
        else:
            s.phase = FROM_OPERATOR[outage.state]
        s.next_poll = workflow.now() + self._cfg.poll_interval
        self._show()
        if s.phase.terminal:
            await self._end(NOTICE_OF[s.phase])
        else:
            await self._announce(
                m.NoticeKind.PLANNED if s.kind == m.Kind.PLANNED else m.NoticeKind.RECEIVED
            )

    async def _open_ticket(self, first: m.Attach) -> None:
        s = self._s
        try:
            ticket: m.Ticket = await run_activity(
                m.OPEN_TICKET,
                m.OpenTicket(
                    incident_id=self._in.incident_id,
                    report_id=first.report_id,
                    area=self._in.area,
                    reported_at=first.reported_at,
                ),
                result_type=m.Ticket,
                timeout=OPERATOR_TIMEOUT,
                retry=OPERATOR_RETRY,
            )
        except ActivityError as err:
            if error_type(err) != "OperatorRejected":
                raise
            s.detail = "the operator refused the ticket; staff must handle the incident"
            await self._escalate("ticket_refused")
            return
        await self._record_reference(ticket.reference, m.Kind.UNPLANNED)
        if s.phase != m.Phase.FORMING:
            return
        s.reference = ticket.reference
        s.phase = m.Phase.REPORTED
        s.started_at = s.started_at or first.reported_at
        s.next_poll = workflow.now() + self._cfg.poll_interval
        self._show()
        await self._announce(m.NoticeKind.TICKET_OPENED)

    async def _record_reference(self, reference: str, kind: m.Kind) -> m.Followed:
        followed: m.Followed = await run_activity(
            m.FOLLOW,
            m.Follow(incident_id=self._in.incident_id, reference=reference, kind=kind),
            result_type=m.Followed,
        )
        return followed

    # --- the DSO's status ---------------------------------------------------------------------

    async def _poll(self) -> None:
        s = self._s
        s.next_poll = workflow.now() + self._cfg.poll_interval
        if s.reference is None:
            return
        try:
            status: m.OperatorStatus = await run_activity(
                m.TICKET_STATUS,
                m.StatusRequest(incident_id=self._in.incident_id, reference=s.reference),
                result_type=m.OperatorStatus,
                timeout=OPERATOR_TIMEOUT,
                retry=OPERATOR_RETRY,
                # Retried until the next poll is due: a down DSO costs no history meanwhile.
                schedule_to_close=self._cfg.poll_interval,
            )
        except ActivityError:
            workflow.logger.warning("status poll of %s failed; next poll later", s.reference)
            return
        self._saw(status)
        await self._apply(status)

    def _saw(self, st: m.OperatorStatus) -> None:
        """Keep the DSO's newest status, however it came: the watch waits for anything else."""
        s = self._s
        if st.reference == s.reference and (s.seen is None or st.changed_at >= s.seen.changed_at):
            s.seen = st

    def _watch_request(self) -> m.WatchRequest | None:
        """While the incident follows a ticket: watch it from what the incident knows now."""
        s = self._s
        if s.reference is None or s.phase == m.Phase.FORMING or s.phase.terminal:
            return None
        return m.WatchRequest(incident_id=self._in.incident_id, reference=s.reference, known=s.seen)

    async def _apply(self, st: m.OperatorStatus) -> None:
        """Merge one status into the incident; tell the reporters what changed."""
        kind = take_status(self._s, st)
        if kind is None:
            return
        self._show()
        if self._s.phase.terminal:
            await self._end(kind)
        else:
            await self._announce(kind)  # one mail with everything that is new

    # --- the clocks ---------------------------------------------------------------------------

    async def _escalate(self, reason: Literal["no_acknowledgement", "ticket_refused"]) -> None:
        s = self._s
        s.escalations += 1
        await run_activity(
            m.ESCALATE,
            m.Escalate(
                incident_id=self._in.incident_id,
                area=self._in.area,
                since=s.opened_at or workflow.now(),
                reports=s.reports,
                reason=reason,
                serial=s.escalations,
            ),
            timeout=EMAIL_TIMEOUT,
            retry=EMAIL_RETRY,
        )
        self._show()

    async def _entitle(self) -> None:
        s = self._s
        assert s.started_at is not None
        await run_activity(
            m.ENTITLE,
            m.Entitle(incident_id=self._in.incident_id, start=s.started_at, at=workflow.now()),
            result_type=m.Counted,
        )
        s.entitled = True
        self._show()

    # --- the end ------------------------------------------------------------------------------

    async def _end(self, kind: m.NoticeKind) -> None:
        """Restored, cancelled or closed: the compensation's end, the last notice, and the
        area's next reports go to a new incident."""
        s = self._s
        s.ended_at = workflow.now()
        end = s.restored_at or s.ended_at
        legal = legal_deadline(s, self._cfg)
        if s.phase == m.Phase.RESTORED and legal is not None and end > legal and not s.entitled:
            await self._entitle()  # restored after the limit, before the timer's turn came
        if s.entitled:
            await run_activity(
                m.END_INTERRUPTION,
                m.EndInterruption(incident_id=self._in.incident_id, end=end),
                result_type=m.Counted,
            )
        # The store hears of the end before the reporters do: someone told "power is back"
        # who still has none reports again at once, and that report must start a new one.
        # The same release also counts the interruption towards each reporting PPE's year.
        release_first = workflow.patched(RELEASE_FIRST_PATCH)
        if release_first:
            await self._release(s.phase, s.ended_at, interruption(s))
        await self._announce(kind)
        if not release_first:
            await self._release(s.phase, s.ended_at)
        self._show()

    async def _release(
        self, phase: m.Phase, at: datetime, cut: m.Interruption | None = None
    ) -> None:
        await run_activity(
            m.RELEASE,
            m.Release(incident_id=self._in.incident_id, phase=phase, at=at, interruption=cut),
        )

    async def _merge_into(self, target: str, why: str) -> None:
        s = self._s
        s.phase, s.merged_into, s.ended_at = m.Phase.MERGED, target, workflow.now()
        s.detail = f"merged into {target}: {why}"
        self._merging = workflow.patched(MERGE_PATCH)
        try:
            await run_activity(
                m.MERGE,
                m.Merge(source=self._in.incident_id, target=target, at=workflow.now()),
                result_type=m.Counted,
            )
        finally:
            self._merging = False
        self._show()
        self._wake += 1

    # --- notices ------------------------------------------------------------------------------

    async def _announce(self, kind: m.NoticeKind) -> None:
        s = self._s
        serial = (s.notice.serial if s.notice else 0) + 1
        s.notice = m.Notice(
            serial=serial,
            kind=kind,
            phase=s.phase,
            outage_kind=s.kind,
            started_at=s.started_at,
            eta=s.eta,
            window_end=s.window_end,
            restored_at=s.restored_at,
            entitled=s.entitled,
            limit=legal_limit(s, self._cfg),
        )
        s.unconfirmed, s.confirm_at = False, None
        await self._notify(s.notice)

    async def _confirm(self) -> None:
        """Tell reports attached since the last notice what the others know already."""
        s = self._s
        assert s.notice is not None
        s.unconfirmed, s.confirm_at = False, None
        if s.entitled and not s.phase.terminal:
            await self._entitle()  # late reporters of a long interruption are entitled too
        await self._notify(s.notice)

    async def _notify(self, notice: m.Notice) -> None:
        async with self._notifying:
            await self._notify_now(notice)

    async def _notify_now(self, notice: m.Notice) -> None:
        await workflow.execute_activity(
            m.NOTIFY,
            m.Notify(incident_id=self._in.incident_id, area=self._in.area, notice=notice),
            result_type=m.NotifyResult,
            start_to_close_timeout=NOTIFY_TIMEOUT,
            heartbeat_timeout=NOTIFY_HEARTBEAT,
            retry_policy=EMAIL_RETRY,
        )

    # --- messages -----------------------------------------------------------------------------

    @workflow.signal
    def attach(self, sig: m.Attach) -> None:
        s = self._s
        if sig.report_id in self._seen:
            return
        self._seen.add(sig.report_id)
        s.reports += 1
        if s.first is None:
            s.first, s.opened_at = sig, workflow.now()
        if not s.unconfirmed:
            s.unconfirmed = True
            s.confirm_at = workflow.now() + self._cfg.confirm_delay
            self._wake += 1  # only the first of a burst wakes the loop: one timer per batch
        if len(self._seen) >= self._cfg.reports_per_run:
            self._wake += 1  # time to continue as new

    @workflow.signal
    def absorb(self, sig: m.Absorb) -> None:
        if sig.source in self._s.absorbed:
            return
        self._s.absorbed.append(sig.source)
        self._s.reports += sig.reports
        if sig.reports and not self._s.unconfirmed:
            self._s.unconfirmed = True
            self._s.confirm_at = workflow.now() + self._cfg.confirm_delay
            self._wake += 1

    @workflow.signal
    def operator_status(self, st: m.OperatorStatus) -> None:
        self._statuses.append(st)
        self._wake += 1

    @workflow.signal
    def customer_restored(self, sig: m.CustomerRestored) -> None:
        self._s.customers_restored += 1
        self._refresh()

    @workflow.update
    async def close(self, act: m.StaffAction) -> m.IncidentStatus:
        s = self._s
        s.phase, s.detail = m.Phase.CLOSED, f"closed by {act.staff}: {act.reason}"
        await self._end(m.NoticeKind.CLOSED)
        self._wake += 1
        return self.status()

    @close.validator
    def _check_close(self, act: m.StaffAction) -> None:
        if self._s.phase.terminal:
            raise ApplicationError(f"the incident is {self._s.phase.value}", type="WrongState")

    @workflow.update
    async def reopen(self, act: m.StaffAction) -> m.IncidentStatus:
        s = self._s
        s.phase = m.Phase.ACKNOWLEDGED if s.acknowledged_at else m.Phase.REPORTED
        if s.kind == m.Kind.PLANNED:
            s.phase = m.Phase.PLANNED
        s.restored_at = s.ended_at = None
        s.next_poll = workflow.now() + self._cfg.poll_interval
        s.detail = f"re-opened by {act.staff}: {act.reason}"
        await self._release(s.phase, workflow.now())
        await self._announce(m.NoticeKind.REOPENED)
        self._show()
        self._wake += 1
        return self.status()

    @reopen.validator
    def _check_reopen(self, act: m.StaffAction) -> None:
        if self._s.phase not in (m.Phase.RESTORED, m.Phase.CANCELLED, m.Phase.CLOSED):
            raise ApplicationError(
                f"only an ended incident can be re-opened; it is {self._s.phase.value}",
                type="WrongState",
            )

    @workflow.update
    async def merge_into(self, req: m.MergeRequest) -> m.IncidentStatus:
        await self._merge_into(req.target, f"by {req.staff}: {req.reason}")
        return self.status()

    @merge_into.validator
    def _check_merge(self, req: m.MergeRequest) -> None:
        if req.target == self._in.incident_id:
            raise ApplicationError("an incident cannot be merged into itself", type="WrongState")
        self._check_close(m.StaffAction(staff=req.staff, reason=req.reason))

    @workflow.query
    def status(self) -> m.IncidentStatus:
        return incident_status(self._in, self._s)

    # --- what operators see -------------------------------------------------------------------

    def _show(self) -> None:
        show(search_attributes(self._in, self._s))
        self._refresh()

    def _refresh(self) -> None:
        workflow.set_current_details(current_details(self._in, self._s))
