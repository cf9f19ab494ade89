"""Invoice lifecycle end to end on the time-skipping server: real store (SQLite and
PostgreSQL), real SMTP, the sandbox payments adapter and the sandbox grid operator."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.invoice_mail import InvoiceMailActivities
from activities.mail import MailComposer
from adapters.email.smtp import SmtpSender
from adapters.payments.base import NotificationRejected
from adapters.payments.sandbox import SandboxPayments
from ebok.errors import InvalidInput, NotFound
from ebok.models import invoice as m
from ebok.models.search import EBOK_AMOUNT_DUE, EBOK_INVOICE, EBOK_OUTCOME, EBOK_PROCESS
from ebok.money import Money
from ebok.settings import Settings
from ebok.store.db import Store
from entrypoints.devsmtp import DevSmtpServer
from entrypoints.webhooks.payments import run_webhooks
from facade.client import EbokClient
from tests.conftest import worker_for
from tests.histories import search_attribute_writes
from tests.mailbox import addressed_to, body
from tests.timeskip import outcome
from tests.workflows.invoices import (
    activity_count,
    an_invoice,
    delivered,
    event_count,
    pay_online,
    pay_reference,
)

PAID_ON_TIME_MAX_EVENTS = 45


async def final(env: WorkflowEnvironment, number: str) -> m.InvoiceStatus:
    return await outcome(env, m.workflow_id(number), m.InvoiceStatus)


async def test_paid_online_on_time(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok: EbokClient,
    sandbox: SandboxPayments,
) -> None:
    billed = await an_invoice(store)
    assert billed.email
    async with worker_for(skipping_env.client, settings, store):
        workflow_id = await ebok.issue_invoice(billed.invoice)
        assert await ebok.issue_invoice(billed.invoice) == workflow_id  # one invoice
        (mail,) = addressed_to(await smtpd.wait_for(1), billed.email)
        assert billed.number in mail["Subject"]
        (pdf,) = [p for p in mail.iter_attachments() if p.get_content_type() == "application/pdf"]
        assert pdf.get_content().startswith(b"%PDF")
        assert "245,67" in body(mail)
        assert await pay_online(ebok, sandbox, pay_reference(mail)) == "signalled"
        done = await final(skipping_env, billed.number)
    assert done.state is m.State.PAID and done.paid == Money(24567)
    assert done.outstanding == Money.ZERO and done.reminders_sent == 0
    described = await skipping_env.client.get_workflow_handle(workflow_id).describe()
    attributes = described.typed_search_attributes
    assert attributes.get(EBOK_INVOICE) == billed.number and attributes.get(EBOK_OUTCOME) == "paid"
    assert attributes.get(EBOK_AMOUNT_DUE) == 0 and attributes.get(EBOK_PROCESS) == "invoice"
    (thanks,) = addressed_to(await smtpd.wait_for(2), billed.email)[1:]
    assert "opłacona" in body(thanks)
    async with store.begin() as uow:
        stored = await uow.invoices.get(billed.number)
        assert stored is not None and stored.state == "paid" and stored.delivery == "email"
        assert len(await uow.invoices.payments_of([billed.number])) == 1
    # What the facade knows at issue is set with the start; the workflow's first upsert is
    # only its change of state (issued → open). The SDK's own upsert of the patch marker
    # (TemporalChangeVersion) is not ours.
    history = await skipping_env.client.get_workflow_handle(workflow_id).fetch_history()
    at_start, _ = search_attribute_writes(history)
    assert {"EbokInvoice", "EbokPartner", "EbokAmountDue", "EbokDeadline"} <= at_start
    upserts = [
        set(e.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields)
        for e in history.events
        if e.HasField("upsert_workflow_search_attributes_event_attributes")
    ]
    first_upsert = next(u for u in upserts if u != {"TemporalChangeVersion"})
    assert first_upsert == {"EbokStatus"}
    # Recording the invoice is a local activity in the first workflow task.
    assert await activity_count(skipping_env.client, workflow_id, m.RECORD) == 0
    events = await event_count(skipping_env.client, workflow_id)
    print(f"paid on time: {events} history events")
    assert events <= PAID_ON_TIME_MAX_EVENTS


async def test_same_notification_twenty_times_is_one_payment(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok: EbokClient,
    sandbox: SandboxPayments,
) -> None:
    billed = await an_invoice(store, gross=50000)
    async with worker_for(skipping_env.client, settings, store):
        workflow_id = await ebok.issue_invoice(billed.invoice)
        (mail,) = await smtpd.wait_for(1)
        note_body, headers = await sandbox.complete(pay_reference(mail))
        outcomes = [
            (await ebok.payment_notification(note_body, headers)).outcome for _ in range(20)
        ]
        done = await final(skipping_env, billed.number)
        # A CANCELED arriving late for a completed payment changes nothing.
        cancelled = note_body.replace(b'"COMPLETED"', b'"CANCELED"')
        with pytest.raises(NotificationRejected):  # the body was altered: bad signature
            await ebok.payment_notification(cancelled, headers)
    assert outcomes[0] == "signalled" and set(outcomes) <= {"signalled", "duplicate", "closed"}
    assert done.state is m.State.PAID and done.payments == 1 and done.paid == Money(50000)
    assert await activity_count(skipping_env.client, workflow_id, m.APPLY_PAYMENT) == 1
    async with store.begin() as uow:
        assert len(await uow.invoices.payments_of([billed.number])) == 1
        events = [e for e, *_ in await uow.invoices.events(billed.number)]
    assert events.count("notice:paid:1") == 1


async def test_bad_signature_applies_nothing(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok: EbokClient,
    sandbox: SandboxPayments,
) -> None:
    billed = await an_invoice(store)
    async with worker_for(skipping_env.client, settings, store):
        await ebok.issue_invoice(billed.invoice)
        (mail,) = await smtpd.wait_for(1)
        note_body, headers = await sandbox.complete(pay_reference(mail))
        signature = headers["OpenPayU-Signature"]
        forged = {
            **headers,
            "OpenPayU-Signature": re.sub("signature=[0-9a-f]{4}", "signature=0000", signature),
        }
        assert forged != headers
        with pytest.raises(NotificationRejected):
            await ebok.payment_notification(note_body, forged)
        await skipping_env.sleep(timedelta(hours=1))
        status = await ebok.invoice_status(billed.number)
    assert status.state is m.State.OPEN and status.paid == Money.ZERO
    async with store.begin() as uow:
        assert await uow.invoices.payments_of([billed.number]) == []


async def test_webhook_receiver_applies_once_and_refuses_forgeries(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok: EbokClient,
    sandbox: SandboxPayments,
) -> None:
    billed = await an_invoice(store)
    runner = await run_webhooks(ebok, "sandbox", "127.0.0.1", 0)
    host, port = runner.addresses[0][:2]
    url = f"http://{host}:{port}/payments/sandbox/notify"
    try:
        async with worker_for(skipping_env.client, settings, store), httpx.AsyncClient() as http:
            await ebok.issue_invoice(billed.invoice)
            (mail,) = await smtpd.wait_for(1)
            note_body, headers = await sandbox.complete(pay_reference(mail))
            forged = await http.post(url, content=note_body + b" ", headers=headers)
            wrong = await http.post(
                url.replace("sandbox", "payu"), content=note_body, headers=headers
            )
            first = await http.post(url, content=note_body, headers=headers)
            await final(skipping_env, billed.number)
            repeat = await http.post(url, content=note_body, headers=headers)
    finally:
        await runner.cleanup()
    assert forged.status_code == 400 and "signature" in forged.json()["error"]
    assert wrong.status_code == 404
    assert first.status_code == 200 and first.json()["outcome"] == "signalled"
    assert repeat.status_code == 200 and repeat.json()["outcome"] == "duplicate"


async def test_out_of_order_notifications_never_undo_a_payment(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok: EbokClient,
    sandbox: SandboxPayments,
) -> None:
    billed = await an_invoice(store)
    async with worker_for(skipping_env.client, settings, store):
        await ebok.issue_invoice(billed.invoice)
        (mail,) = await smtpd.wait_for(1)
        ref = pay_reference(mail)
        stale_body, stale_headers = await sandbox.notification(ref)  # still NEW at the provider
        # A signal naming the payment before it completes: the provider is asked, nothing counts.
        handle = skipping_env.client.get_workflow_handle(billed.workflow_id)
        await handle.signal("payment", m.PaymentArrived(source="provider", reference=ref))
        await skipping_env.sleep(timedelta(minutes=5))
        early = await ebok.invoice_status(billed.number)
        assert early.paid == Money.ZERO and "pending" in early.detail
        assert await pay_online(ebok, sandbox, ref) == "signalled"
        done = await final(skipping_env, billed.number)
        late = await ebok.payment_notification(stale_body, stale_headers)
    assert done.state is m.State.PAID and done.payments == 1
    assert late.outcome == "ignored"  # a stale NEW after COMPLETED changes nothing
    async with store.begin() as uow:
        assert len(await uow.invoices.payments_of([billed.number])) == 1


async def test_provider_down_at_delivery_is_retried_and_issuing_again_changes_nothing(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok: EbokClient,
    sandbox: SandboxPayments,
) -> None:
    billed = await an_invoice(store)
    provider = SandboxPayments.from_settings(settings)
    provider.fail_next(3)
    async with worker_for(skipping_env.client, settings, store, payments=provider):
        await ebok.issue_invoice(billed.invoice)
        await skipping_env.sleep(timedelta(minutes=1))
        (mail,) = await smtpd.wait_for(1)
        assert provider.calls == 4  # three failures, then the payment
        await ebok.record_payment(billed.number, "KASA-1", "245,67", "anna.k")
        first = await final(skipping_env, billed.number)
        run = (await skipping_env.client.get_workflow_handle(billed.workflow_id).describe()).run_id
        assert await ebok.issue_invoice(billed.invoice) == billed.workflow_id
        again = await skipping_env.client.get_workflow_handle(billed.workflow_id).describe()
    assert pay_reference(mail) and first.state is m.State.PAID
    assert again.run_id == run  # finished: issuing the same number starts nothing
    assert len(smtpd.messages) == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"partner_number": "1234567890"}, "partner_number"),
        ({"contract_account": "123456789012"}, "contract_account"),
    ],
)
async def test_unknown_partner_or_account_starts_nothing(
    skipping_env: WorkflowEnvironment,
    store: Store,
    ebok: EbokClient,
    change: dict[str, str],
    field: str,
) -> None:
    billed = await an_invoice(store)
    with pytest.raises(InvalidInput) as err:
        await ebok.issue_invoice(billed.invoice | change)
    assert field in err.value.errors
    with pytest.raises(NotFound):
        await ebok.invoice_status(billed.number)


async def test_a_notice_retried_after_its_mail_went_out_records_it_and_mails_nothing(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok: EbokClient,
    sandbox: SandboxPayments,
) -> None:
    """The worker died after the relay took the invoice (its Message-ID recorded) and before
    the invoice's own record: the retried activity writes that record and sends nothing."""
    billed = await an_invoice(store)
    assert billed.email
    async with worker_for(skipping_env.client, settings, store):
        await ebok.issue_invoice(billed.invoice)
        await delivered(skipping_env.client, billed.number, "email")
    assert len(addressed_to(await smtpd.wait_for(1), billed.email)) == 1
    async with store.begin() as uow:  # what the store held at the moment of the kill
        await uow.invoices.set_delivery(billed.number, "pending", datetime.now(UTC))
        await uow.invoices.set_state(billed.number, m.State.ISSUED.value, datetime.now(UTC))
        stored = await uow.invoices.get(billed.number)
    assert stored is not None and stored.due_date is not None
    retry = m.Notify(
        number=billed.number,
        kind="issued",
        state=m.State.OPEN,
        outstanding=Money(stored.gross_grosze),
        due_date=stored.due_date,
    )
    sender = SmtpSender.from_settings(settings)
    calls = InvoiceMailActivities(
        store, sender, sandbox, MailComposer(settings.mail_from), settings
    )
    try:
        answer = await ActivityEnvironment().run(calls.notify, retry)
    finally:
        await sender.aclose()
    assert answer == m.Delivered(channel="email")
    async with store.begin() as uow:
        again = await uow.invoices.get(billed.number)
        log = [event for event, *_ in await uow.invoices.events(billed.number)]
    assert again is not None and (again.delivery, again.state) == ("email", "open")
    assert log.count("notice:issued:1") == 1
    assert len(smtpd.messages) == 1  # no second mail
