"""Outage activities: the DSO's lookup, ticket and status; incidents and reports in the store;
notices mailed to reporters in pages read from the store. Each runs at least once and is safe
to run again (store keys, ticket keyed by the incident id, Message-ID per report and notice)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from temporalio import activity
from temporalio.client import WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities.delivery import deliver
from activities.mail import WARSAW, MailComposer, local_time, message_id
from activities.outage_operator import OperatorCalls
from adapters.email.base import EmailSender
from adapters.operator.base import OutageReports
from adapters.operator.incidents import area_name
from ebok.ids import opaque_id
from ebok.models import outage as m
from ebok.models.search import EBOK_AREA, EBOK_PROCESS, EBOK_STATUS
from ebok.outage_compensation import STATUTORY_LIMITS
from ebok.settings import Settings
from ebok.store.db import Store
from ebok.store.outages import Reporter

__all__ = ["OutageActivities"]


class OutageActivities(OperatorCalls):
    def __init__(
        self,
        store: Store,
        operator: OutageReports,
        email: EmailSender,
        composer: MailComposer,
        settings: Settings,
    ) -> None:
        super().__init__(store, operator)
        self._email, self._composer, self._settings = email, composer, settings
        # The relay takes a few connections; more mails at once would only queue there.
        self._sending = asyncio.Semaphore(max(1, settings.smtp_pool_size))

    # --- the report ---------------------------------------------------------------------------

    @activity.defn(name=m.ATTACH)
    async def attach(self, req: m.AttachRequest) -> m.Attached:
        """Join the report to its incident (made if none) and signal-with-start that incident.

        The incident row in the store is what makes a storm of reports land on one workflow:
        the area's open incident, or the one following the DSO's known outage."""
        now = datetime.now(UTC)
        slug = m.area_slug(req.area)
        new_id = opaque_id(f"{m.INCIDENT_PREFIX}-{slug}")
        async with self._store.begin() as uow:
            incident_id: str | None = None
            if req.outage is not None:
                incident_id = await uow.outages.reference_incident(
                    req.outage.reference, req.area, new_id, now
                )
                if not await uow.outages.incident_open(incident_id):
                    incident_id = None  # ended on our side: a new failure is a new incident
            if incident_id is None:
                incident_id = await uow.outages.area_incident(req.area, new_id, now)
            await uow.outages.attach(req.report_id, incident_id, req.area, now)
        s = self._settings
        await activity.client().start_workflow(
            m.INCIDENT_WORKFLOW,
            m.IncidentInput(
                incident_id=incident_id,
                area=req.area,
                settings=m.IncidentSettings(
                    ack_sla=s.outage_ack_sla,
                    compensation_threshold=s.outage_compensation_threshold,
                    poll_interval=s.outage_poll_interval,
                    reopen_grace=s.outage_reopen_grace,
                    confirm_delay=s.outage_confirm_delay,
                    reports_per_run=s.outage_reports_per_run,
                ),
            ),
            id=incident_id,
            task_queue=activity.info().task_queue,
            start_signal="attach",
            start_signal_args=[
                m.Attach(
                    report_id=req.report_id,
                    ppe=req.ppe,
                    reported_at=req.reported_at,
                    outage=req.outage,
                )
            ],
            # An ended incident is never started again under its id: the retry finds the
            # store row closed and makes a new incident.
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            execution_timeout=s.execution_timeout,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(EBOK_PROCESS, "incident"),
                    SearchAttributePair(EBOK_STATUS, m.Phase.FORMING.value),
                    SearchAttributePair(EBOK_AREA, req.area[:64]),
                ]
            ),
        )
        return m.Attached(incident_id=incident_id)

    @activity.defn(name=m.CLOSE_REPORT)
    async def close_report(self, req: m.CloseReport) -> m.ReportClosed:
        async with self._store.begin() as uow:
            incident = await uow.outages.close_report(req.report_id, req.at, req.power_back)
        return m.ReportClosed(incident_id=incident)

    @activity.defn(name=m.TELL_REPORTER)
    async def tell_reporter(self, req: m.TellReporter) -> None:
        mid = message_id("outage", req.report_id, req.template, self._composer.domain)
        async with self._store.begin() as uow:
            report = await uow.outages.report(req.report_id)
            if report is None or report.email is None or await uow.mail.was_sent(mid):
                return
        mail = self._composer.compose(
            req.template, report.language, report.email, mid, ppe=report.ppe
        )
        await deliver(self._store, self._email, mail, "outage", req.report_id)

    # --- notices to every reporter of an incident, page by page -------------------------------

    @activity.defn(name=m.NOTIFY)
    async def notify(self, req: m.Notify) -> m.NotifyResult:
        """Mail ``req.notice`` to every open report of the incident not told it yet. Pages of
        ``outage_batch_size`` from the store; the heartbeat carries the cursor, so a retry goes
        on where the last attempt stopped (and Message-IDs catch the page in between)."""
        details = activity.info().heartbeat_details
        after, sent = (str(details[0]), int(details[1])) if details else ("", 0)
        size = self._settings.outage_batch_size
        while True:
            async with self._store.begin() as uow:
                page = await uow.outages.reporters(
                    req.incident_id, below_serial=req.notice.serial, after=after, limit=size
                )
                if not page:
                    return m.NotifyResult(sent=sent)
                done = await uow.mail.sent_among([self._message_id(req, r) for r in page])
                # The end's release has entitled PPEs whose year went past its limit.
                yearly: set[str] = set()
                if req.notice.phase.terminal and not req.notice.entitled:
                    found = await uow.outages.entitlements(incident_id=req.incident_id)
                    yearly = {e.ppe for e in found}
            told = await asyncio.gather(
                *(self._tell(req, r, after, sent, done, yearly) for r in page)
            )
            sent += sum(told)
            async with self._store.begin() as uow:
                await uow.outages.mark_told([r.id for r in page], req.notice.serial)
            after = page[-1].id
            activity.heartbeat(after, sent)

    def _message_id(self, req: m.Notify, reporter: Reporter) -> str:
        return message_id("outage", reporter.id, req.notice.serial, self._composer.domain)

    async def _tell(
        self,
        req: m.Notify,
        reporter: Reporter,
        after: str,
        sent: int,
        done: set[str],
        yearly: set[str],
    ) -> bool:
        notice = req.notice
        # The bonifikata is recorded for households only (business tariffs settle it apart):
        # over the single limit (the incident's), or over the year's (this PPE's).
        over_year = reporter.household and reporter.ppe in yearly
        entitled = (notice.entitled and reporter.household) or over_year
        if reporter.email is None:  # reachable by phone only: the hotline calls, no mail
            return False
        if notice.kind is m.NoticeKind.COMPENSATION and not entitled and reporter.notice_serial:
            return False
        mid = self._message_id(req, reporter)
        if mid in done:  # an earlier attempt sent it
            return False
        async with self._sending:
            activity.heartbeat(after, sent)  # alive as long as mails go (the SDK throttles it)
            kind = m.NoticeKind.RECEIVED if reporter.notice_serial == 0 else notice.kind
            mail = self._composer.compose(
                "outage_notice",
                reporter.language,
                reporter.email,
                mid,
                kind=kind.value,
                ppe=reporter.ppe,
                area=area_name(req.area),
                phase=notice.phase.value,
                planned=notice.outage_kind is m.Kind.PLANNED,
                started_at=_when(notice.started_at),
                eta=_when(notice.eta),
                window_end=_when(notice.window_end),
                restored_at=_when(notice.restored_at),
                entitled=entitled,
                limit_hours=_hours(notice.limit),
                over_year=over_year,
                yearly_hours=_hours(STATUTORY_LIMITS[notice.outage_kind].yearly),
                report_link=self._settings.link("awarie", zgloszenie=reporter.id),
            )
            try:
                await deliver(self._store, self._email, mail, "outage", reporter.id)
            except ApplicationError as e:
                if e.non_retryable:  # this address is refused: the others still get theirs
                    activity.logger.warning("outage notice refused for %s: %s", reporter.id, e.type)
                    return False
                raise
        return True

    # --- compensation, staff, the end ---------------------------------------------------------

    @activity.defn(name=m.ENTITLE)
    async def entitle(self, req: m.Entitle) -> m.Counted:
        async with self._store.begin() as uow:
            return m.Counted(count=await uow.outages.entitle(req.incident_id, req.start, req.at))

    @activity.defn(name=m.END_INTERRUPTION)
    async def end_interruption(self, req: m.EndInterruption) -> m.Counted:
        async with self._store.begin() as uow:
            return m.Counted(count=await uow.outages.end_interruption(req.incident_id, req.end))

    @activity.defn(name=m.ESCALATE)
    async def escalate(self, req: m.Escalate) -> None:
        """Tell the back office (the address partner-linking escalations use). No PII."""
        mid = message_id("outage-escalation", req.incident_id, req.serial, self._composer.domain)
        async with self._store.begin() as uow:
            if await uow.mail.was_sent(mid):
                return
        mail = self._composer.compose(
            "outage_escalation",
            "pl",
            self._settings.backoffice_email,
            mid,
            workflow_id=req.incident_id,
            area=area_name(req.area),
            since=_when(req.since),
            reports=req.reports,
            reason=req.reason,
            serial=req.serial,
        )
        await deliver(self._store, self._email, mail, "escalation", req.incident_id[:40])

    @activity.defn(name=m.RELEASE)
    async def release(self, req: m.Release) -> None:
        async with self._store.begin() as uow:
            if req.phase.terminal:
                await uow.outages.release(req.incident_id, req.phase.value, req.at)
                if (cut := req.interruption) is not None:
                    await uow.outages.record_interruption(
                        req.incident_id, cut.kind.value, cut.start, cut.end, req.at
                    )
            else:  # re-opened by staff: tracked again, but new reports go to a new incident
                await uow.outages.reopen(req.incident_id, req.phase.value)

    @activity.defn(name=m.MERGE)
    async def merge(self, req: m.Merge) -> m.Counted:
        async with self._store.begin() as uow:
            moved = await uow.outages.move_reports(req.source, req.target)
            await uow.outages.release(req.source, m.Phase.MERGED.value, req.at)
        handle = activity.client().get_workflow_handle(req.target)
        # The signal after the commit; a retry counts the same reports and signals again,
        # which the target takes once (it remembers its sources).
        await handle.signal("absorb", m.Absorb(source=req.source, reports=moved))
        return m.Counted(count=moved)

    @activity.defn(name=m.FINALIZE)
    async def finalize(self, req: m.Finalize) -> m.Counted:
        """Close the incident's open reports and tell their workflows, page by page."""
        client = activity.client()
        details = activity.info().heartbeat_details
        after, closed = (str(details[0]), int(details[1])) if details else ("", 0)
        signal = m.IncidentClosed(incident_id=req.incident_id, phase=req.phase)
        while True:
            async with self._store.begin() as uow:
                ids = await uow.outages.open_report_ids(
                    req.incident_id, after=after, limit=self._settings.outage_batch_size
                )
            if not ids:
                return m.Counted(count=closed)
            # Signal first, then close: a retry after a crash in between signals again (the
            # reports take that calmly) instead of leaving closed reports waiting.
            await asyncio.gather(*(_signal(client.get_workflow_handle(i), signal) for i in ids))
            async with self._store.begin() as uow:
                await uow.outages.close_reports(ids, req.at)
            closed += len(ids)
            after = ids[-1]
            activity.heartbeat(after, closed)


async def _signal(handle: WorkflowHandle[object, object], signal: m.IncidentClosed) -> None:
    try:
        await handle.signal("incident_closed", signal)
    except RPCError as e:
        if e.status != RPCStatusCode.NOT_FOUND:  # a report already ended on its own
            raise


def _when(at: datetime | None) -> str:
    """Polish time with its zone (CET or CEST), so nobody wonders whose clock it is."""
    return f"{local_time(at)} {at.astimezone(WARSAW).tzname()}" if at is not None else ""


def _hours(limit: timedelta | None) -> str:
    """The legal limit in whole hours (the notices of older incidents carry none: 24 h)."""
    return str(int((limit or timedelta(hours=24)).total_seconds() // 3600))
