"""The outage report's shape on bare Temporal (see ``bench.bare_storm``)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from bench.bare_shapes import call
    from bench.bare_storm import StormKey, StormReportInput


@workflow.defn(name="BenchBareStormReport")
class BareStormReport:
    """``OutageReport`` for a PPE billing knows: one activity (attach), then it waits for the
    incident's ``closed`` signal (or its patience)."""

    def __init__(self) -> None:
        self._closed = False

    @workflow.run
    async def run(self, req: StormReportInput) -> str:
        await call("bench.bare.storm_attach", req)
        try:
            await workflow.wait_condition(
                lambda: self._closed, timeout=timedelta(seconds=req.config.patience_s)
            )
        except TimeoutError:
            pass
        return "closed"

    @workflow.signal
    def closed(self, sig: StormKey) -> None:
        self._closed = True
