"""Invoice lifecycle activities that change the books: issuing, payments, corrections,
cancellation, the audit trail and supply suspension. Each runs at least once and is safe to run
again: payments are keyed on (source, reference), audit rows on (invoice, event), suspension
requests on a key per invoice, demand and PPE."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError

from adapters.operator.base import (
    GridOperator,
    OperatorRejected,
    OperatorUnavailable,
    SupplySuspensions,
    SuspensionRequest,
)
from adapters.payments.base import (
    PaymentProvider,
    PaymentRejected,
    PaymentStatus,
    PaymentUnavailable,
)
from ebok.models import invoice as m
from ebok.money import Money
from ebok.store.db import Store, UnitOfWork
from ebok.store.invoices import InvoiceRecord, PaymentRecord, UnknownAccount
from ebok.store.letters import Suspension

__all__ = ["INVOICE_GONE", "InvoiceActivities", "totals"]

INVOICE_GONE = "InvoiceGone"
UNKNOWN_ACCOUNT = "UnknownAccount"


async def totals(
    uow: UnitOfWork, number: str, at: datetime, *, applied: bool = True, detail: str = ""
) -> m.Totals:
    """The invoice's standing from the store, and its state set to paid once it is."""
    s = await uow.invoices.standing(number, at)
    return m.Totals(
        amount_due=Money(s.amount_due),
        paid=Money(s.paid),
        credit=Money(s.credit),
        applied=applied,
        detail=detail,
    )


async def invoice_of(uow: UnitOfWork, number: str) -> InvoiceRecord:
    found = await uow.invoices.get(number)
    if found is None or not found.managed:
        raise ApplicationError("no such invoice", type=INVOICE_GONE, non_retryable=True)
    return found


class InvoiceActivities:
    def __init__(self, store: Store, payments: PaymentProvider, operator: GridOperator) -> None:
        self._store, self._payments, self._operator = store, payments, operator

    @activity.defn(name=m.RECORD)
    async def record(self, req: m.RecordInvoice) -> m.Totals:
        i = req.invoice
        values = {
            "number": i.number,
            "partner_number": i.partner_number,
            "contract_account": i.contract_account,
            "gross_grosze": i.gross.grosze,
            "issue_date": i.issue_date,
            "due_date": i.due,
            "nrb": i.nrb,
            "net_grosze": i.net.grosze,
            "vat_grosze": i.vat.grosze,
            "lines": {
                "period": [(d or i.issue_date).isoformat() for d in (i.period_from, i.period_to)],
                "items": [line.model_dump(mode="json") for line in i.lines],
            },
            "ppe": i.ppe,
            "correction_of": i.correction_of,
        }
        try:
            async with self._store.begin() as uow:
                if await uow.invoices.issue(values, req.at):
                    await uow.invoices.log(i.number, "issued", "issued", "", "billing", req.at)
                return await totals(uow, i.number, req.at)
        except UnknownAccount as e:
            raise ApplicationError(str(e), type=UNKNOWN_ACCOUNT, non_retryable=True) from None

    @activity.defn(name=m.APPLY_PAYMENT)
    async def apply_payment(self, req: m.ApplyPayment) -> m.Totals:
        """Apply a payment once. A provider payment counts only if the provider itself says it
        is completed, for this invoice, and then with the amount the provider reports."""
        p, now = req.payment, datetime.now(UTC)
        amount, received = p.amount, p.received_at or req.at
        if p.source == "provider":
            try:
                state = await self._payments.payment_status(p.reference)
            except PaymentRejected:
                return await self._unapplied(req, "unknown at the provider")
            except PaymentUnavailable as e:
                raise ApplicationError(f"payment provider unavailable: {e}") from None
            if state.status is not PaymentStatus.COMPLETED:
                return await self._unapplied(req, f"the provider says {state.status.value}")
            if m.invoice_of_key(state.key) != req.number:
                return await self._unapplied(req, "the payment belongs to another invoice")
            amount = state.amount
        assert amount is not None  # the model requires it for bank and staff payments
        reference = f"{req.number}:{p.reference}" if p.source == "staff" else p.reference
        async with self._store.begin() as uow:
            invoice = await invoice_of(uow, req.number)
            added = await uow.invoices.add_payment(
                PaymentRecord(p.source, reference, req.number, amount.grosze, received),
                now,
                req.staff,
            )
            if added:
                await uow.invoices.log(
                    req.number,
                    f"payment:{p.source}:{p.reference}"[:64],
                    "payment",
                    f"{amount.grosze} grosze",
                    req.staff or p.source,
                    now,
                )
                applied = True
            else:
                # An earlier attempt of this activity may have committed and lost its answer
                # (the connection cut during COMMIT): booked on this invoice, it was applied.
                # The workflow applies each (source, reference) once, so this is no repeat.
                booked = await uow.invoices.payment(p.source, reference)
                applied = booked is not None and booked.invoice_number == req.number
            result = await totals(uow, req.number, now, applied=applied)
            # A payment after a cancellation is a credit; the invoice stays cancelled.
            if applied and result.outstanding.grosze == 0 and invoice.state != "cancelled":
                await uow.invoices.set_state(req.number, m.State.PAID.value, now)
            return result

    async def _unapplied(self, req: m.ApplyPayment, why: str) -> m.Totals:
        async with self._store.begin() as uow:
            await invoice_of(uow, req.number)
            return await totals(uow, req.number, datetime.now(UTC), applied=False, detail=why)

    @activity.defn(name=m.CORRECT)
    async def correct(self, req: m.CorrectionRequest) -> m.Totals:
        c = req.correction
        async with self._store.begin() as uow:
            invoice = await invoice_of(uow, req.number)
            detail = f"{invoice.amount_due_grosze} -> {c.new_gross.grosze} grosze: {c.reason}"
            event = f"correction:{c.correction_number}"
            if await uow.invoices.log(
                req.number, event, invoice.state or "", detail, c.staff, req.at
            ):
                await uow.invoices.set_amount_due(req.number, c.new_gross.grosze, req.at)
            result = await totals(uow, req.number, req.at)
            if result.outstanding.grosze == 0:
                await uow.invoices.set_state(req.number, m.State.PAID.value, req.at)
            return result

    @activity.defn(name=m.CANCEL)
    async def cancel(self, req: m.CancelRequest) -> m.Totals:
        """Nothing is owed any more; what was paid stays as a credit."""
        async with self._store.begin() as uow:
            await invoice_of(uow, req.number)
            if await uow.invoices.log(
                req.number, "cancelled", "cancelled", req.cancel.reason, req.cancel.staff, req.at
            ):
                await uow.invoices.set_amount_due(req.number, 0, req.at)
                await uow.invoices.set_state(req.number, m.State.CANCELLED.value, req.at)
            return await totals(uow, req.number, req.at)

    @activity.defn(name=m.RECORD_STATE)
    async def record_state(self, req: m.RecordState) -> None:
        async with self._store.begin() as uow:
            await invoice_of(uow, req.number)
            await uow.invoices.set_state(req.number, req.state.value, req.at)
            await uow.invoices.log(
                req.number, req.event, req.state.value, req.detail, req.actor, req.at
            )

    @activity.defn(name=m.FILE_SUSPENSION)
    async def file_suspension(self, req: m.FileSuspension) -> m.SuspensionFiled:
        """Ask the grid operator to suspend supply to every PPE the invoice is for."""
        suspensions = self._suspensions()
        async with self._store.begin() as uow:
            invoice = await invoice_of(uow, req.number)
            if invoice.ppe:
                ppes = [invoice.ppe]
            else:  # the contract account's every PPE
                of_partner = await uow.billing.ppes_of_partner(invoice.partner_number)
                ppes = [p.ppe for p in of_partner if p.contract_account == invoice.contract_account]
        if not ppes:
            raise ApplicationError("no PPE to suspend", type="OperatorRejected", non_retryable=True)
        references = []
        for ppe in ppes:
            key = f"{req.number}:{req.serial}:{ppe}"
            request = SuspensionRequest(key, ppe, req.number, req.notice_served_at, req.not_before)
            try:
                answer = await suspensions.request_suspension(request)
            except OperatorRejected as e:
                raise ApplicationError(
                    f"operator refused the suspension ({e.status_code or 'no status'})",
                    type="OperatorRejected",
                    non_retryable=True,
                ) from None
            except OperatorUnavailable as e:
                raise ApplicationError(f"operator unavailable ({type(e).__name__})") from None
            now = datetime.now(UTC)
            if not answer.accepted:  # nothing to suspend there (e.g. a terminated contract)
                async with self._store.begin() as uow:
                    await uow.invoices.log(
                        req.number,
                        f"suspension-declined:{req.serial}:{ppe}",
                        m.State.DEMANDED.value,
                        answer.reference,
                        "operator",
                        now,
                    )
                continue
            async with self._store.begin() as uow:
                await uow.invoices.set_state(req.number, m.State.SUSPENSION_FILED.value, now)
                await uow.suspensions.record(
                    Suspension(
                        key,
                        req.number,
                        ppe,
                        answer.reference,
                        req.notice_served_at,
                        req.not_before,
                        now,
                        None,
                        None,
                    )
                )
                await uow.invoices.log(
                    req.number,
                    f"suspension:{req.serial}:{ppe}",
                    m.State.SUSPENSION_FILED.value,
                    answer.reference,
                    "workflow",
                    now,
                )
            references.append(answer.reference)
        if not references:
            raise ApplicationError(
                "the operator declined every suspension request",
                type="OperatorRejected",
                non_retryable=True,
            )
        return m.SuspensionFiled(references=references)

    @activity.defn(name=m.WITHDRAW_SUSPENSION)
    async def withdraw_suspension(self, req: m.WithdrawSuspension) -> int:
        """Withdraw every filed request still standing; the number withdrawn."""
        suspensions = self._suspensions()
        async with self._store.begin() as uow:
            standing = [
                s for s in await uow.suspensions.of_invoice(req.number) if s.withdrawn_at is None
            ]
        for s in standing:
            try:
                await suspensions.withdraw_suspension(s.reference)
            except OperatorUnavailable as e:
                raise ApplicationError(f"operator unavailable ({type(e).__name__})") from None
            async with self._store.begin() as uow:
                await uow.suspensions.withdrawn(s.key, req.at, req.reason)
                await uow.invoices.log(
                    req.number,
                    f"withdrawn:{s.key}"[:64],
                    "withdrawn",
                    req.reason,
                    "workflow",
                    req.at,
                )
        return len(standing)

    def _suspensions(self) -> SupplySuspensions:
        if not isinstance(self._operator, SupplySuspensions):
            raise ApplicationError(
                "the grid operator adapter cannot file supply suspensions",
                type="OperatorRejected",
                non_retryable=True,
            )
        return self._operator
