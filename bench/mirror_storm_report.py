"""The outage report's bare shape calling our activities (see ``bench.mirror_shapes``)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from bench.mirror_shapes import call
    from ebok.models import outage as m


@workflow.defn(name=m.REPORT_WORKFLOW)
class MirrorStormReport:
    """``BareStormReport`` with our inputs: for a PPE billing knows, one activity (attach: the
    report joins its area's incident, which it signal-with-starts), then it waits for the
    incident's ``incident_closed`` signal (or its patience)."""

    @workflow.init
    def __init__(self, inp: m.ReportInput) -> None:
        self._closed = False

    @workflow.run
    async def run(self, inp: m.ReportInput) -> str:
        assert inp.area is not None, "the bench's customers are all in billing"
        attach = m.AttachRequest(
            report_id=inp.report_id, ppe=inp.ppe, area=inp.area, reported_at=inp.reported_at
        )
        await call(m.ATTACH, attach, m.Attached)
        try:
            await workflow.wait_condition(lambda: self._closed, timeout=inp.patience)
        except TimeoutError:
            pass
        return "closed"

    @workflow.signal
    def incident_closed(self, sig: m.IncidentClosed) -> None:
        self._closed = True
