"""Outage reporting: ``OutageReport``, one per customer report, which finds the report's area
and joins it to an ``OutageIncident`` (``workflows/outage_incident.py``) by signal-with-start.
The incident does the rest for all its reports at once; the report stays open for the
customer's additions ("power is back", more information) until the incident ends.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from ebok.models import outage as m
    from ebok.models.search import EBOK_AREA, EBOK_OUTCOME, EBOK_STATUS
    from workflows.common import (
        EMAIL_RETRY,
        EMAIL_TIMEOUT,
        PERMANENT,
        ensure_process_attribute,
        run_activity,
        run_store_step,
        show,
    )

__all__ = ["OutageReport"]

OPERATOR_TIMEOUT = timedelta(seconds=30)
# The DSO being down is retried by the server with back-off: no history per attempt.
OPERATOR_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    non_retryable_error_types=PERMANENT,
)
_ENDED = (m.ReportState.REJECTED, m.ReportState.POWER_BACK, m.ReportState.CLOSED)


@workflow.defn(name=m.REPORT_WORKFLOW)
class OutageReport:
    @workflow.init
    def __init__(self, inp: m.ReportInput) -> None:
        self._in = inp
        self._state = m.ReportState.LOCATING
        self._area = inp.area
        self._incident: str | None = None
        self._notes = 0
        self._ended = False  # by the incident, the customer or patience

    @workflow.run
    async def run(self, inp: m.ReportInput) -> m.ReportStatus:
        ensure_process_attribute("outage")
        self._set(m.ReportState.LOCATING)
        outage: m.Outage | None = None
        if self._area is None:  # not in billing: only the DSO knows where it is
            located: m.Located = await run_activity(
                m.LOCATE,
                m.Lookup(ppe=inp.ppe),
                result_type=m.Located,
                timeout=OPERATOR_TIMEOUT,
                retry=OPERATOR_RETRY,
            )
            if located.area is None:
                await run_activity(
                    m.TELL_REPORTER,
                    m.TellReporter(report_id=inp.report_id, template="outage_rejected"),
                    timeout=EMAIL_TIMEOUT,
                    retry=EMAIL_RETRY,
                )
                await self._close(m.ReportState.REJECTED, power_back=False)
                return self.status()
            self._area, outage = located.area, located.outage
        attached: m.Attached = await run_store_step(
            m.ATTACH,
            m.AttachRequest(
                report_id=inp.report_id,
                ppe=inp.ppe,
                area=self._area,
                reported_at=inp.reported_at,
                outage=outage,
            ),
            result_type=m.Attached,
        )
        self._incident = attached.incident_id
        if self._state == m.ReportState.LOCATING:
            self._set(m.ReportState.ATTACHED)
        try:
            await workflow.wait_condition(lambda: self._ended, timeout=inp.patience)
        except TimeoutError:
            await self._close(m.ReportState.CLOSED, power_back=False)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    async def _close(self, state: m.ReportState, *, power_back: bool) -> str | None:
        closed: m.ReportClosed = await run_activity(
            m.CLOSE_REPORT,
            m.CloseReport(report_id=self._in.report_id, at=workflow.now(), power_back=power_back),
            result_type=m.ReportClosed,
        )
        self._ended = True
        self._set(state)
        return closed.incident_id

    # --- messages -----------------------------------------------------------------------------

    @workflow.signal
    def incident_closed(self, sig: m.IncidentClosed) -> None:
        """From the incident's last batch, which has closed the report in the store already."""
        if self._state in _ENDED:
            return
        self._incident = sig.incident_id
        self._ended = True
        self._set(m.ReportState.CLOSED)

    @workflow.update
    async def add_info(self, info: m.InfoAdded) -> m.ReportStatus:
        self._notes = max(self._notes, info.serial)
        self._refresh()
        return self.status()

    @add_info.validator
    def _check_add_info(self, info: m.InfoAdded) -> None:
        self._check_open()

    @workflow.update
    async def power_back(self, req: m.PowerBack) -> m.ReportStatus:
        self._ended = True  # no more waiting, whatever the incident does
        incident = await self._close(m.ReportState.POWER_BACK, power_back=True)
        if incident is not None:
            handle = workflow.get_external_workflow_handle(incident)
            told = m.CustomerRestored(report_id=self._in.report_id)
            try:
                await handle.signal("customer_restored", told)
            except Exception:  # the incident has ended meanwhile: nobody left to tell
                workflow.logger.info("incident %s has ended; not told", incident)
        return self.status()

    @power_back.validator
    def _check_power_back(self, req: m.PowerBack) -> None:
        self._check_open()

    def _check_open(self) -> None:
        if self._state in _ENDED or self._ended:
            raise ApplicationError(f"the report is {self._state.value}", type="WrongState")

    @workflow.query
    def status(self) -> m.ReportStatus:
        return m.ReportStatus(
            report_id=self._in.report_id,
            state=self._state,
            ppe=self._in.ppe,
            area=self._area,
            incident_id=self._incident,
            notes=self._notes,
        )

    # --- helpers ------------------------------------------------------------------------------

    def _set(self, state: m.ReportState) -> None:
        self._state = state
        values: dict[SearchAttributeKey[Any], Any] = {EBOK_STATUS: state.value}
        if self._area:
            values[EBOK_AREA] = self._area[:64]
        if state in _ENDED:
            values[EBOK_OUTCOME] = state.value
        show(values)
        self._refresh()

    def _refresh(self) -> None:
        where = f" in {self._area}" if self._area else ""
        incident = f", incident {self._incident}" if self._incident else ""
        notes = f", {self._notes} note(s) from the customer" if self._notes else ""
        workflow.set_current_details(
            f"Outage report for PPE {self._in.ppe}{where}: {self._state.value}{incident}{notes}."
        )
