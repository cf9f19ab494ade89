"""Payments at the edges: one that reaches a paid invoice's workflow while it is still
concluding (sending the confirmation) is booked, as a credit, not dropped after being
acknowledged as signalled; one whose first attempt committed but lost its answer counts as
applied when the activity is retried."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.invoice import InvoiceActivities
from adapters.email.base import OutgoingEmail, SendReceipt
from adapters.email.memory import MemorySender
from adapters.operator.sandbox import SandboxOperator
from adapters.payments.sandbox import SandboxPayments
from ebok.models import invoice as m
from ebok.money import Money
from ebok.settings import Settings
from ebok.store.db import Store
from facade.client import EbokClient
from facade.invoices import issue_input
from tests.conftest import worker_for
from tests.workflows.invoices import an_invoice, pay_reference
from tests.workflows.test_invoice_dunning import statement

pytestmark = pytest.mark.asyncio(loop_scope="session")


class HeldConfirmation(MemorySender):
    """Sends at once, except the paid confirmation, which waits for :attr:`release`."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self.holding = asyncio.Event()

    async def send(self, mail: OutgoingEmail) -> SendReceipt:
        if mail.message_id.startswith("<invoice-paid."):
            self.holding.set()
            await self.release.wait()
        return await super().send(mail)


async def test_payment_while_concluding_is_booked_as_credit(
    env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    tmp_path: Path,
) -> None:
    billed = await an_invoice(store, gross=10000)
    settings = settings.model_copy(update={"execution_timeout": timedelta(minutes=2)})
    ebok = EbokClient(env.client, store, settings)
    sandbox = SandboxPayments.from_settings(settings)
    sender = HeldConfirmation()
    async with worker_for(env.client, settings, store, email=sender):
        async with asyncio.timeout(60):
            await ebok.issue_invoice(billed.invoice)
            while not sender.sent:
                await asyncio.sleep(0.05)
            ref = pay_reference(sender.sent[0].message)
            paid = await ebok.import_bank_statement(
                statement(tmp_path, billed, ("100,00", f"FV {billed.number}", "BNK-L1"))
            )
            assert paid.signalled == ["BNK-L1"]
            await sender.holding.wait()  # paid in full; the confirmation is on its way
            assert (await ebok.invoice_status(billed.number)).state is m.State.PAID
            # The customer had also paid online: the provider's notification arrives now.
            note, headers = await sandbox.complete(ref)
            late = await ebok.payment_notification(note, headers)
            sender.release.set()
            handle = env.client.get_workflow_handle(billed.workflow_id, result_type=m.InvoiceStatus)
            done = await handle.result()
    assert late.outcome == "signalled"
    assert done.state is m.State.PAID and done.payments == 2
    assert done.paid == Money(20000) and done.credit == Money(10000)
    async with store.begin() as uow:
        booked = await uow.invoices.payments_of([billed.number])
        stored = await uow.invoices.get(billed.number)
        credits = await uow.invoices.credits_of_partner(billed.partner.number)
    assert sorted((p.source, p.amount_grosze) for p in booked) == [
        ("bank", 10000),
        ("provider", 10000),
    ]
    assert stored is not None and stored.state == "paid"
    assert credits == {billed.contract_account: 10000}


async def test_retried_payment_whose_commit_went_through_counts_as_applied(
    settings: Settings, store: Store
) -> None:
    """A connection cut during COMMIT: the payment is in the store, the activity failed and
    is retried. The retry must say applied, or the workflow counts one payment too few."""
    billed = await an_invoice(store, gross=10000)
    acts = InvoiceActivities(
        store, SandboxPayments.from_settings(settings), SandboxOperator.from_settings(settings)
    )
    now = datetime.now(UTC)
    await acts.record(m.RecordInvoice(invoice=issue_input(billed.invoice), at=now))
    req = m.ApplyPayment(
        number=billed.number,
        payment=m.PaymentArrived(source="bank", reference="BNK-R1", amount=Money(4000)),
        at=now,
    )
    first = await acts.apply_payment(req)
    retried = await acts.apply_payment(req)  # same attempt's request, answer of the first lost
    assert first.applied and retried.applied
    assert retried.paid == Money(4000) and retried.outstanding == Money(6000)
    async with store.begin() as uow:
        assert len(await uow.invoices.payments_of([billed.number])) == 1
        events = [e for e, *_ in await uow.invoices.events(billed.number)]
    assert events.count("payment:bank:BNK-R1") == 1


async def test_transfer_naming_a_settling_invoice_is_booked_then_reported_closed(
    env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    tmp_path: Path,
) -> None:
    """A statement row naming an invoice just paid online: its workflow is still running, so
    it takes the transfer (a credit) and a second load of the file says duplicate, not
    unmatched (which would have it booked by hand a second time). Once the workflow has
    ended, a new transfer naming it is listed as unmatched."""
    billed = await an_invoice(store, gross=10000)
    settings = settings.model_copy(update={"execution_timeout": timedelta(minutes=2)})
    ebok = EbokClient(env.client, store, settings)
    sandbox = SandboxPayments.from_settings(settings)
    sender = HeldConfirmation()
    title = f"Faktura {billed.number}"
    async with worker_for(env.client, settings, store, email=sender):
        async with asyncio.timeout(60):
            await ebok.issue_invoice(billed.invoice)
            while not sender.sent:
                await asyncio.sleep(0.05)
            note, headers = await sandbox.complete(pay_reference(sender.sent[0].message))
            assert (await ebok.payment_notification(note, headers)).outcome == "signalled"
            await sender.holding.wait()  # paid in full; the confirmation is on its way
            first = await ebok.import_bank_statement(
                statement(tmp_path, billed, ("30,00", title, "BNK-S1"))
            )
            sender.release.set()
            handle = env.client.get_workflow_handle(billed.workflow_id, result_type=m.InvoiceStatus)
            done = await handle.result()
            again = await ebok.import_bank_statement(
                statement(tmp_path, billed, ("30,00", title, "BNK-S1"))
            )
            after = await ebok.import_bank_statement(
                statement(tmp_path, billed, ("5,00", title, "BNK-S2"))
            )
    assert first.signalled == ["BNK-S1"] and again.duplicates == ["BNK-S1"]
    assert after.unmatched == [("BNK-S2", "the invoice is closed")]
    assert done.paid == Money(13000) and done.credit == Money(3000) and done.payments == 2
