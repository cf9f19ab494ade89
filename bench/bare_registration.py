"""Registration's shape on bare Temporal (see ``bench.bare``)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from bench.bare_shapes import LINK_TTL, UNTIL_STEP2, BareKey, call


@workflow.defn(name="BenchBareRegistration")
class BareRegistration:
    """Registration's happy path: update ``credentials_set`` answers at once and the run
    sends; update ``activate`` runs one activity; the run sends a welcome and ends. Both
    waits have the timers ours has: step 2's deadline and the link's expiry."""

    def __init__(self) -> None:
        self._step2 = False
        self._activated = False

    @workflow.run
    async def run(self, req: BareKey) -> str:
        await workflow.wait_condition(lambda: self._step2, timeout=UNTIL_STEP2)
        await call("bench.bare.send", req)
        await workflow.wait_condition(lambda: self._activated, timeout=LINK_TTL)
        await call("bench.bare.welcome", req)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return "activated"

    @workflow.update
    async def credentials_set(self, req: BareKey) -> str:
        self._step2 = True
        return "pending"

    @workflow.update
    async def activate(self, req: BareKey) -> str:
        await call("bench.bare.redeem", req)
        self._activated = True
        return "activated"
