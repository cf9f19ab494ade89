"""The invoice's shape on bare Temporal (see ``bench.bare``)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from bench.bare_shapes import UNTIL_REMINDER, BareKey, call


@workflow.defn(name="BenchBareInvoice")
class BareInvoice:
    """An issued invoice up to its e-mail, then waiting for payment: two activities (record,
    deliver: tells the driver), then a condition with a timer, as ours waits until its first
    reminder. After the ``payment`` signal: apply it and confirm it (two activities, the second
    tells the driver), then the run ends."""

    def __init__(self) -> None:
        self._paid = False

    @workflow.run
    async def run(self, req: BareKey) -> str:
        for name in ("bench.bare.record_invoice", "bench.bare.deliver_invoice"):
            await call(name, req)
        try:
            await workflow.wait_condition(lambda: self._paid, timeout=UNTIL_REMINDER)
        except TimeoutError:
            return "reminded"
        await call("bench.bare.apply_payment", req)
        await call("bench.bare.deliver_invoice", req)
        return "paid"

    @workflow.signal
    def payment(self, req: BareKey) -> None:
        self._paid = True
