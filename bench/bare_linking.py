"""Partner linking's shape on bare Temporal (see ``bench.bare``)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from bench.bare_shapes import BareKey, call


@workflow.defn(name="BenchBareLinking")
class BareLinking:
    """Partner linking's happy path for a partner with one PPE: update ``link`` runs one
    activity (match) and answers; the run checks the contract (one activity per PPE), then
    records the link and notifies the customer (two activities) and ends."""

    def __init__(self) -> None:
        self._matched = False

    @workflow.run
    async def run(self, req: BareKey) -> str:
        await workflow.wait_condition(lambda: self._matched)
        await call("bench.bare.check_contract", req)
        await call("bench.bare.record_link", req)
        await call("bench.bare.notify", req)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return "linked"

    @workflow.update
    async def link(self, req: BareKey) -> str:
        await call("bench.bare.match", req)
        self._matched = True
        return "checking"
