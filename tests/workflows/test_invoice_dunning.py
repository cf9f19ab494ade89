"""Invoice dunning on the time-skipping server: reminders, the formal demand, supply suspension
and its withdrawal, complaints, bank statements, partial and over-payments, corrections and
cancellation. Real store (both databases), real SMTP, sandbox payments and grid operator."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from adapters.operator.sandbox import SandboxOperator
from adapters.post.sandbox import SandboxPost
from ebok.models import invoice as m
from ebok.money import Money
from ebok.settings import Settings
from ebok.store.db import Store
from entrypoints.devsmtp import DevSmtpServer
from facade.client import EbokClient
from tests.conftest import worker_for
from tests.mailbox import addressed_to, body
from tests.timeskip import outcome
from tests.workflows.invoices import Billed, an_invoice, event_count

FULL_DUNNING_MAX_EVENTS = 110
DAY = timedelta(days=1)


def statement(tmp_path: Path, billed: Billed, *rows: tuple[str, str, str]) -> Path:
    """A bank statement with (amount, title, bank reference) transfers to the invoice's NRB."""
    out = io.StringIO()
    out.write(
        "booking_date,amount,currency,target_account,sender_account,sender_name,title,"
        "bank_reference\n"
    )
    today = datetime.now(UTC).date().isoformat()
    for amount, title, ref in rows:
        out.write(f'{today},"{amount}",PLN,{billed.invoice["nrb"]},,Jan Klient,{title},{ref}\n')
    path = tmp_path / f"statement-{rows[0][2]}.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def subjects(messages: list[Any], to: str) -> list[str]:
    return [str(msg["Subject"]) for msg in addressed_to(messages, to)]


async def test_reminders_then_paid_late_by_bank_transfer(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok: EbokClient,
    tmp_path: Path,
) -> None:
    billed = await an_invoice(store)
    assert billed.email
    async with worker_for(skipping_env.client, settings, store):
        await ebok.issue_invoice(billed.invoice)
        await smtpd.wait_for(1)
        await skipping_env.sleep(timedelta(days=12))  # 2 days before the due date
        status = await ebok.invoice_status(billed.number)
        assert status.reminders_sent == 1 and status.state is m.State.OPEN
        await skipping_env.sleep(timedelta(days=4))  # 2 days overdue
        status = await ebok.invoice_status(billed.number)
        assert status.state is m.State.OVERDUE and status.reminders_sent == 2
        assert status.next_step is m.Step.DEMAND

        balance = await ebok.balance(billed.partner.number, datetime.now(UTC).date() + 16 * DAY)
        (account,) = balance.accounts
        assert account.overdue == Money(24567) and account.interest.grosze > 0

        paid = await ebok.import_bank_statement(
            statement(tmp_path, billed, ("245,67", f"Zaplata za {billed.number}", "BNK-A1"))
        )
        assert paid.signalled == ["BNK-A1"], paid.summary()
        done = await outcome(skipping_env, billed.workflow_id, m.InvoiceStatus)
        again = await ebok.import_bank_statement(
            statement(tmp_path, billed, ("245,67", f"Zaplata za {billed.number}", "BNK-A1"))
        )
    assert again.duplicates == ["BNK-A1"] and not again.signalled
    assert done.state is m.State.PAID and done.paid == Money(24567)
    sent = subjects(await smtpd.wait_for(4), billed.email)
    assert len(sent) == 4 and "mija" in sent[1] and "nie została opłacona" in sent[2]
    balance = await ebok.balance(billed.partner.number)
    assert balance.accounts[0].open_invoices == [] and balance.accounts[0].payments[0].amount == (
        Money(24567)
    )


async def test_partial_then_full_and_overpayment_becomes_credit(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok: EbokClient,
    tmp_path: Path,
) -> None:
    billed = await an_invoice(store, gross=10000)
    async with worker_for(skipping_env.client, settings, store):
        await ebok.issue_invoice(billed.invoice)
        await smtpd.wait_for(1)
        part = await ebok.record_payment(billed.number, "KASA-1", "40,00", "anna.k")
        assert part.paid == Money(4000) and part.outstanding == Money(6000)
        assert part.state is m.State.OPEN
        again = await ebok.record_payment(billed.number, "KASA-1", "40,00", "anna.k")
        assert again.paid == Money(4000)  # the same reference is one payment
        balance = await ebok.balance(billed.partner.number)
        assert balance.accounts[0].outstanding == Money(6000)
        rest = await ebok.import_bank_statement(
            statement(tmp_path, billed, ("70,00", "energia", "BNK-B1"))  # only open invoice
        )
        assert rest.signalled == ["BNK-B1"]
        stranger = await an_invoice(store)  # never issued: no open invoice for its account
        lost = await ebok.import_bank_statement(
            statement(tmp_path, stranger, ("12,00", "energia", "BNK-B2"))
        )
        assert lost.unmatched == [("BNK-B2", "no open invoice for that account")]
        done = await outcome(skipping_env, billed.workflow_id, m.InvoiceStatus)
    assert done.state is m.State.PAID and done.credit == Money(1000) and done.payments == 2
    balance = await ebok.balance(billed.partner.number)
    (account,) = balance.accounts
    assert account.credit == Money(1000) and account.outstanding == Money.ZERO
    assert account.net == Money(-1000) and len(account.payments) == 2


async def test_demand_then_suspension_then_payment_withdraws_it(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok: EbokClient,
) -> None:
    billed = await an_invoice(store)
    assert billed.email
    operator = SandboxOperator(billed.partner.registry)
    async with worker_for(skipping_env.client, settings, store, operator=operator):
        await ebok.issue_invoice(billed.invoice, electronic_notices=True)
        await smtpd.wait_for(1)
        await skipping_env.sleep(timedelta(days=14 + 30) + timedelta(hours=1))
        status = await ebok.invoice_status(billed.number)
        assert status.state is m.State.DEMANDED and status.notice_until is not None
        demand = addressed_to(await smtpd.wait_for(4), billed.email)[3]
        assert "Wezwanie do zapłaty" in demand["Subject"] and "art. 6b" in body(demand)
        assert status.notice_until - datetime.now(UTC) >= timedelta(days=13)
        assert operator.simulation.active_suspensions() == []

        await skipping_env.sleep(timedelta(days=15, hours=1))  # from the day after receipt
        status = await ebok.invoice_status(billed.number)
        assert status.state is m.State.SUSPENSION_FILED and status.suspension_reference
        (filed,) = operator.simulation.active_suspensions()
        assert filed.request.ppe == billed.invoice["ppe"]

        await ebok.record_payment(billed.number, "KASA-9", "245,67", "jan.n")
        done = await outcome(skipping_env, billed.workflow_id, m.InvoiceStatus)
    assert done.state is m.State.PAID
    assert operator.simulation.active_suspensions() == []
    async with store.begin() as uow:
        (row,) = await uow.suspensions.of_invoice(billed.number)
        assert row.withdrawn_at is not None and row.withdrawn_reason == "paid"
    events = await event_count(skipping_env.client, billed.workflow_id)
    print(f"full dunning: {events} history events")
    assert events <= FULL_DUNNING_MAX_EVENTS


async def test_complaint_pauses_dunning_escalates_and_answer_resumes(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok: EbokClient,
) -> None:
    billed = await an_invoice(store)
    assert billed.email
    operator = SandboxOperator(billed.partner.registry)
    async with worker_for(skipping_env.client, settings, store, operator=operator):
        await ebok.issue_invoice(billed.invoice, electronic_notices=True)
        await smtpd.wait_for(1)
        await skipping_env.sleep(timedelta(days=14 + 30, hours=1))  # demand served
        await smtpd.wait_for(4)
        await ebok.complaint(billed.number, "REK-2026-1")
        await skipping_env.sleep(timedelta(days=12))
        status = await ebok.invoice_status(billed.number)
        assert status.complaint_open and status.state is m.State.DEMANDED
        assert operator.simulation.active_suspensions() == []  # the notice ran out: paused
        staff = addressed_to(await smtpd.wait_for(5), settings.backoffice_email)
        assert len(staff) == 1 and "REK" not in staff[0]["Subject"]
        assert billed.workflow_id in body(staff[0])

        answered = await ebok.answer_complaint(billed.number, False, "odczyt poprawny", "ewa.z")
        assert not answered.complaint_open
        await skipping_env.sleep(timedelta(hours=1))
        status = await ebok.invoice_status(billed.number)
        assert status.next_step is m.Step.SUSPEND  # the demand was served again
        demands = [s for s in subjects(smtpd.messages, billed.email) if "Wezwanie" in s]
        assert len(demands) == 2
        await ebok.cancel_invoice(billed.number, "spisanie należności", "kierownik")
        done = await outcome(skipping_env, billed.workflow_id, m.InvoiceStatus)
    assert done.state is m.State.CANCELLED and done.amount_due == Money.ZERO
    async with store.begin() as uow:
        events = [e for e, *_ in await uow.invoices.events(billed.number)]
    assert "complaint:REK-2026-1" in events and "complaint-answered:1" in events
    assert "cancelled" in events


async def test_complaint_withdraws_a_filed_suspension(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok: EbokClient,
) -> None:
    billed = await an_invoice(store, consent=False)
    operator = SandboxOperator(billed.partner.registry)
    post = SandboxPost.from_settings(settings)
    async with worker_for(skipping_env.client, settings, store, operator=operator):
        await ebok.set_postal_address(
            billed.partner.number, "Jan Klient", "ul. Polna 3", "00-001", "Warszawa"
        )
        await ebok.issue_invoice(billed.invoice)
        await skipping_env.sleep(timedelta(days=14 + 30, hours=2))
        status = await ebok.invoice_status(billed.number)
        assert status.letter_tracking_id is not None
        posted = (await post.letter_status(status.letter_tracking_id)).posted_on
        await ebok.letter_notification(*post.deliver(status.letter_tracking_id, posted))
        await skipping_env.sleep(timedelta(days=15, hours=1))
        assert len(operator.simulation.active_suspensions()) == 1
        await ebok.complaint(billed.number, "REK-7")
        await skipping_env.sleep(timedelta(hours=1))
        status = await ebok.invoice_status(billed.number)
        assert status.complaint_open and status.suspension_reference is None
        assert operator.simulation.active_suspensions() == []
        await ebok.cancel_invoice(billed.number, "reklamacja uznana w całości", "ewa.z")
    async with store.begin() as uow:
        letters = await uow.paper.of_invoice(billed.number)
    kinds = [letter.kind for letter in letters]
    assert kinds == ["issued", "reminder_before", "reminder_after"]  # all on paper
    # The written notice of art. 6b ust. 3 went by registered post, with the seller and arrears.
    assert status.letter_tracking_id is not None
    notice = post.document(status.letter_tracking_id).decode()
    assert settings.invoice_seller in notice and f"NIP {settings.invoice_seller_nip}" in notice
    assert billed.number in notice and "(zaległa)" in notice
    assert smtpd.messages == []


async def test_correction_lowers_the_amount_and_settles_it(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok: EbokClient,
) -> None:
    billed = await an_invoice(store, gross=20000)
    async with worker_for(skipping_env.client, settings, store):
        await ebok.issue_invoice(billed.invoice)
        await smtpd.wait_for(1)
        await ebok.record_payment(billed.number, "KASA-3", "150,00", "anna.k")
        corrected = await ebok.correct_invoice(
            billed.number, "FK/2026/12/0001", "120,00", "błędny odczyt licznika"
        )
        assert corrected.amount_due == Money(12000) and corrected.credit == Money(3000)
        done = await outcome(skipping_env, billed.workflow_id, m.InvoiceStatus)
    assert done.state is m.State.PAID and done.outstanding == Money.ZERO
    async with store.begin() as uow:
        events = await uow.invoices.events(billed.number)
    assert ("correction:FK/2026/12/0001", "open", "billing") in [e[:3] for e in events]


async def test_recipient_rejected_and_bounce_go_to_paper_and_tell_staff(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok: EbokClient,
) -> None:
    rejected, bounced = await an_invoice(store), await an_invoice(store)
    assert rejected.email
    smtpd.reject(rejected.email)
    async with worker_for(skipping_env.client, settings, store):
        await ebok.issue_invoice(rejected.invoice)
        await ebok.issue_invoice(bounced.invoice)
        await smtpd.wait_for(2)
        await ebok.invoice_bounced(bounced.number, "550 mailbox full")
        await skipping_env.sleep(timedelta(hours=1))
        first = await ebok.invoice_status(rejected.number)
        second = await ebok.invoice_status(bounced.number)
        staff = addressed_to(await smtpd.wait_for(3), settings.backoffice_email)
    assert first.delivery == "paper" and second.delivery == "paper"
    assert len(staff) == 2 and all("niedoręczona" in s["Subject"] for s in staff)
    async with store.begin() as uow:
        for billed in (rejected, bounced):
            letters = await uow.paper.of_invoice(billed.number)
            assert [x.kind for x in letters] == ["issued"]


async def test_staff_waive_the_next_reminder(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok: EbokClient,
) -> None:
    billed = await an_invoice(store)
    assert billed.email
    async with worker_for(skipping_env.client, settings, store):
        await ebok.issue_invoice(billed.invoice)
        await smtpd.wait_for(1)
        waived = await ebok.waive_reminder(billed.number, "klient dzwonił, zapłaci", "ewa.z")
        assert waived.next_step is m.Step.REMINDER_AFTER
        await skipping_env.sleep(timedelta(days=15, hours=1))
        status = await ebok.invoice_status(billed.number)
        await ebok.cancel_invoice(billed.number, "test", "ewa.z")
    assert status.reminders_sent == 1 and status.state is m.State.OVERDUE
    sent = subjects(await smtpd.wait_for(2), billed.email)
    assert len(sent) == 2 and "nie została opłacona" in sent[1]
    async with store.begin() as uow:
        events = await uow.invoices.events(billed.number)
    assert ("waived:reminder_before", "open", "ewa.z") in [e[:3] for e in events]
