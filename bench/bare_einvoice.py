"""E-invoice consent's shape on bare Temporal (see ``bench.bare``)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from bench.bare_shapes import LINK_TTL, BareKey, call


@workflow.defn(name="BenchBareEInvoice")
class BareEInvoice:
    """E-invoice consent up to active: update ``request`` runs one activity (check) and
    answers; the run mails the link (one activity, tells the driver) and waits with a timer;
    update ``confirm`` runs one activity (record the consent); the run notifies (one activity,
    tells the driver) and waits, with no timer, for a ``withdraw`` signal. Ours waits for the
    request and for the confirmation each under a timer that the message cancels."""

    def __init__(self) -> None:
        self._requested = False
        self._confirmed = False
        self._withdrawn = False

    @workflow.run
    async def run(self, req: BareKey) -> str:
        try:
            await workflow.wait_condition(lambda: self._requested, timeout=LINK_TTL)
            await call("bench.bare.send_einvoice_link", req)
            await workflow.wait_condition(lambda: self._confirmed, timeout=LINK_TTL)
        except TimeoutError:
            return "expired"
        await call("bench.bare.notify_einvoice", req)
        await workflow.wait_condition(lambda: self._withdrawn)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return "withdrawn"

    @workflow.update
    async def request(self, req: BareKey) -> str:
        await call("bench.bare.check_einvoice", req)
        self._requested = True
        return "awaiting_confirmation"

    @workflow.update
    async def confirm(self, req: BareKey) -> str:
        await call("bench.bare.record_consent", req)
        self._confirmed = True
        return "active"

    @workflow.signal
    def withdraw(self, req: BareKey) -> None:
        self._withdrawn = True
