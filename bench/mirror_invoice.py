"""The invoice's bare shape calling our activities (see ``bench.mirror_shapes``)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    import stdnum.pl  # noqa: F401  (as ours: imported on first use of an NRB, not in the sandbox)

    from bench.bare_shapes import UNTIL_REMINDER
    from bench.mirror_shapes import call
    from ebok.models import invoice as m


@workflow.defn(name=m.WORKFLOW_TYPE)
class MirrorInvoice:
    """``BareInvoice`` with our inputs: record the invoice, deliver it (the e-mail with its PDF),
    then wait for the ``payment`` signal under a timer until the first reminder; a payment is
    applied (one activity) and confirmed by mail (one activity)."""

    def __init__(self) -> None:
        self._payment: m.PaymentArrived | None = None

    @workflow.run
    async def run(self, inp: m.InvoiceInput) -> str:
        invoice = inp.invoice
        record = m.RecordInvoice(invoice=invoice, at=workflow.now())
        totals: m.Totals = await call(m.RECORD, record, m.Totals)
        notice = m.Notify(
            number=invoice.number,
            kind="issued",
            state=m.State.OPEN,
            outstanding=totals.outstanding,
            due_date=invoice.due,
        )
        await call(m.NOTIFY, notice, m.Delivered)
        try:
            await workflow.wait_condition(self._paid, timeout=UNTIL_REMINDER)
        except TimeoutError:
            return "reminded"
        assert self._payment is not None
        apply = m.ApplyPayment(number=invoice.number, payment=self._payment, at=workflow.now())
        totals = await call(m.APPLY_PAYMENT, apply, m.Totals)
        done = {"kind": "paid", "state": m.State.PAID, "outstanding": totals.outstanding}
        await call(m.NOTIFY, notice.model_copy(update=done), m.Delivered)
        return "paid"

    def _paid(self) -> bool:
        return self._payment is not None

    @workflow.signal
    def payment(self, p: m.PaymentArrived) -> None:
        self._payment = p
