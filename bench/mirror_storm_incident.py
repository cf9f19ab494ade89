"""The outage incident's bare shape calling our activities (see ``bench.mirror_shapes``)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from bench.bare_shapes import RETRY
    from bench.bare_storm import NOTIFY_HEARTBEAT, NOTIFY_TIMEOUT
    from bench.mirror_shapes import call
    from ebok.models import outage as m


@workflow.defn(name=m.INCIDENT_WORKFLOW)
class MirrorStormIncident:
    """``BareStormIncident`` with our inputs: the first report routes it (lookup, ticket, follow:
    three activities) and the ticket is announced; new reports are confirmed in batches after
    ``confirm_delay``; a restored ``operator_status`` ends it (the notice, release); after the
    grace the reports are closed (finalize). It continues as new every ``reports_per_run``
    reports, its state in our memo."""

    @workflow.init
    def __init__(self, inp: m.IncidentInput) -> None:
        self._in, self._cfg = inp, inp.settings
        self._s = inp.memo or m.IncidentMemo()
        self._seen: set[str] = set()
        self._wake = 0
        self._handled = 0
        self._restored: m.OperatorStatus | None = None

    @workflow.run
    async def run(self, inp: m.IncidentInput) -> int:
        s = self._s
        if s.phase == m.Phase.FORMING:
            await workflow.wait_condition(lambda: s.first is not None)
            await self._route()
        while self._restored is None:
            if len(self._seen) >= self._cfg.reports_per_run:
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    m.IncidentInput(
                        incident_id=inp.incident_id, area=inp.area, settings=self._cfg, memo=s
                    )
                )
            await self._step()
        s.phase, s.ended_at = m.Phase.RESTORED, workflow.now()
        s.restored_at = self._restored.restored_at or s.ended_at
        await self._announce(m.NoticeKind.RESTORED)
        release = m.Release(incident_id=inp.incident_id, phase=s.phase, at=s.ended_at)
        await call(m.RELEASE, release)
        await workflow.sleep(self._cfg.reopen_grace)
        await workflow.execute_activity(
            m.FINALIZE,
            m.Finalize(incident_id=inp.incident_id, phase=s.phase, at=workflow.now()),
            result_type=m.Counted,
            start_to_close_timeout=NOTIFY_TIMEOUT,
            heartbeat_timeout=NOTIFY_HEARTBEAT,
            retry_policy=RETRY,
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return s.reports

    async def _route(self) -> None:
        s, incident = self._s, self._in.incident_id
        assert s.first is not None
        first = s.first
        await call(m.LOOKUP, m.Lookup(ppe=first.ppe), m.Located)
        ticket_request = m.OpenTicket(
            incident_id=incident,
            report_id=first.report_id,
            area=self._in.area,
            reported_at=first.reported_at,
        )
        ticket: m.Ticket = await call(m.OPEN_TICKET, ticket_request, m.Ticket)
        follow = m.Follow(incident_id=incident, reference=ticket.reference, kind=m.Kind.UNPLANNED)
        await call(m.FOLLOW, follow, m.Followed)
        s.reference, s.phase, s.started_at = ticket.reference, m.Phase.REPORTED, first.reported_at
        await self._announce(m.NoticeKind.TICKET_OPENED)

    async def _step(self) -> None:
        # As the bare mirror: always a deadline, the confirmation batch, else the next poll.
        s, now = self._s, workflow.now()
        due = s.confirm_at if s.unconfirmed else None
        wait = (due - now) if due is not None else self._cfg.poll_interval
        try:
            await workflow.wait_condition(
                lambda: self._wake != self._handled, timeout=max(wait, timedelta(seconds=1))
            )
        except TimeoutError:
            pass
        self._handled = self._wake
        if self._restored is not None:
            return
        if s.unconfirmed and s.confirm_at is not None and workflow.now() >= s.confirm_at:
            assert s.notice is not None
            await self._notify(s.notice)

    async def _announce(self, kind: m.NoticeKind) -> None:
        s = self._s
        serial = (s.notice.serial if s.notice else 0) + 1
        s.notice = m.Notice(
            serial=serial,
            kind=kind,
            phase=s.phase,
            started_at=s.started_at,
            restored_at=s.restored_at,
        )
        await self._notify(s.notice)

    async def _notify(self, notice: m.Notice) -> None:
        self._s.unconfirmed, self._s.confirm_at = False, None
        await workflow.execute_activity(
            m.NOTIFY,
            m.Notify(incident_id=self._in.incident_id, area=self._in.area, notice=notice),
            result_type=m.NotifyResult,
            start_to_close_timeout=NOTIFY_TIMEOUT,
            heartbeat_timeout=NOTIFY_HEARTBEAT,
            retry_policy=RETRY,
        )

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
            self._wake += 1
        if len(self._seen) >= self._cfg.reports_per_run:
            self._wake += 1

    @workflow.signal
    def operator_status(self, st: m.OperatorStatus) -> None:
        if st.state == m.OperatorState.RESTORED:
            self._restored = st
            self._wake += 1
