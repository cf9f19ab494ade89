"""The disconnection notice by registered letter, on the time-skipping server: its 14 days run
from the day the letter counts as received (delivered, refused, or deemed delivered when the
awizo's collection period ran out), and no suspension is asked for while that day is unknown.
Real store (both databases), real SMTP, the sandbox post and grid operator."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from adapters.operator.sandbox import SandboxOperator
from adapters.post.sandbox import SandboxPost
from ebok.models import invoice as m
from ebok.settings import Settings
from ebok.store.db import Store
from entrypoints.devsmtp import DevSmtpServer
from facade.client import EbokClient
from tests.conftest import make_settings, worker_for
from tests.factories import an_account
from tests.mailbox import addressed_to, body
from tests.workflows.invoices import Billed, an_invoice

DAY = timedelta(days=1)


@pytest.fixture
def settings(db_url: str, smtpd: DevSmtpServer) -> Settings:
    """An unclaimed letter's notice ends some 80 days after the invoice's issue."""
    return make_settings(db_url, smtpd.port, execution_timeout=timedelta(days=150))


def start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


async def sleep_until(env: WorkflowEnvironment, moment: datetime) -> None:
    await env.sleep(moment - await env.get_current_time())


async def demanded(
    env: WorkflowEnvironment, ebok: EbokClient, billed: Billed, *, electronic: bool | None = None
) -> m.InvoiceStatus:
    """Issue the invoice and skip to one hour after the demand (30 days past due)."""
    await ebok.set_postal_address(
        billed.partner.number, "Jan Klient", "ul. Żółta 7 m. 2", "02-495", "Warszawa"
    )
    await ebok.issue_invoice(billed.invoice, electronic_notices=electronic)
    due = billed.invoice["due_date"]
    await sleep_until(env, start_of(due + 30 * DAY) + timedelta(hours=1))
    status = await ebok.invoice_status(billed.number)
    assert status.state is m.State.DEMANDED
    return status


async def suspension_filed(ebok: EbokClient, billed: Billed, operator: SandboxOperator) -> bool:
    status = await ebok.invoice_status(billed.number)
    filed = status.state is m.State.SUSPENSION_FILED
    assert filed == bool(operator.simulation.active_suspensions())
    return filed


async def test_delivered_on_day_3_suspension_after_day_3_plus_14(
    skipping_env: WorkflowEnvironment, settings: Settings, store: Store, ebok: EbokClient
) -> None:
    billed = await an_invoice(store, consent=False)
    operator = SandboxOperator(billed.partner.registry)
    post = SandboxPost.from_settings(settings)
    async with worker_for(skipping_env.client, settings, store, operator=operator):
        status = await demanded(skipping_env, ebok, billed)
        assert status.notice_channel == "letter" and status.letter_state is m.LetterState.POSTED
        assert status.earliest_suspension is None and status.next_step is None
        (letter,) = [x for x in post.letters() if x.tracking_id == status.letter_tracking_id]
        posted = letter.posted_on
        text = post.document(letter.tracking_id).decode()
        assert "art. 6b ust. 3" in text and billed.number in text and "02-495 Warszawa" in text

        await sleep_until(skipping_env, start_of(posted + 16 * DAY))  # 14 days after sending
        assert not await suspension_filed(ebok, billed, operator)

        received = posted + 3 * DAY
        told = await ebok.letter_notification(*post.deliver(letter.tracking_id, received))
        assert told.outcome == "signalled" and told.invoice_number == billed.number
        status = await ebok.invoice_status(billed.number)
        assert status.notice_received_on == received
        assert status.earliest_suspension == start_of(received + 15 * DAY)
        assert status.letter_state is m.LetterState.DELIVERED
        assert status.next_step is m.Step.SUSPEND

        await sleep_until(skipping_env, start_of(received + 13 * DAY) + timedelta(hours=12))
        assert not await suspension_filed(ebok, billed, operator)  # the day before the last
        await sleep_until(skipping_env, start_of(received + 14 * DAY) + timedelta(hours=23))
        assert not await suspension_filed(ebok, billed, operator)  # the last day: may still pay
        await sleep_until(skipping_env, start_of(received + 15 * DAY) + timedelta(hours=1))
        assert await suspension_filed(ebok, billed, operator)  # the day after
        (filed,) = operator.simulation.active_suspensions()
        assert filed.request.not_before == start_of(received + 15 * DAY)
        assert filed.request.notice_served_at == start_of(received)
        await ebok.cancel_invoice(billed.number, "koniec testu", "ewa.z")
    async with store.begin() as uow:
        (row,) = await uow.letters.of_invoice(billed.number)
    assert row["state"] == "delivered" and row["received_on"] == received


async def test_unclaimed_letter_counts_from_the_end_of_the_collection_period(
    skipping_env: WorkflowEnvironment, settings: Settings, store: Store, ebok: EbokClient
) -> None:
    billed = await an_invoice(store, consent=False)
    operator = SandboxOperator(billed.partner.registry)
    post = SandboxPost.from_settings(settings)
    async with worker_for(skipping_env.client, settings, store, operator=operator):
        status = await demanded(skipping_env, ebok, billed)
        tracking = status.letter_tracking_id
        assert tracking is not None
        posted = (await post.letter_status(tracking)).posted_on
        left = posted + 2 * DAY
        await ebok.letter_notification(*post.awizo(tracking, left))
        status = await ebok.invoice_status(billed.number)
        assert status.letter_state is m.LetterState.AWAITING_COLLECTION
        assert status.earliest_suspension is None  # the awizo alone is no receipt

        deemed = left + 14 * DAY  # the last day of the collection period
        await sleep_until(skipping_env, start_of(deemed + DAY) + timedelta(hours=2))
        assert not await suspension_filed(ebok, billed, operator)
        await ebok.letter_notification(*post.return_unclaimed(tracking))
        status = await ebok.invoice_status(billed.number)
        assert status.letter_state is m.LetterState.RETURNED
        assert status.notice_received_on == deemed
        assert status.earliest_suspension == start_of(deemed + 15 * DAY)

        await sleep_until(skipping_env, start_of(deemed + 14 * DAY) + timedelta(hours=23))
        assert not await suspension_filed(ebok, billed, operator)
        await sleep_until(skipping_env, start_of(deemed + 15 * DAY) + timedelta(hours=1))
        assert await suspension_filed(ebok, billed, operator)
        await ebok.cancel_invoice(billed.number, "koniec testu", "ewa.z")


async def test_refused_letter_counts_as_received_on_the_refusal_day(
    skipping_env: WorkflowEnvironment, settings: Settings, store: Store, ebok: EbokClient
) -> None:
    billed = await an_invoice(store, consent=False)
    operator = SandboxOperator(billed.partner.registry)
    post = SandboxPost.from_settings(settings)
    async with worker_for(skipping_env.client, settings, store, operator=operator):
        status = await demanded(skipping_env, ebok, billed)
        tracking = status.letter_tracking_id
        assert tracking is not None
        refused = (await post.letter_status(tracking)).posted_on + DAY
        body_, headers = post.refuse(tracking, refused)
        await ebok.letter_notification(body_, headers)
        again = await ebok.letter_notification(body_, headers)  # a repeat changes nothing
        assert again.outcome == "signalled"
        status = await ebok.invoice_status(billed.number)
        assert status.letter_state is m.LetterState.REFUSED
        assert status.notice_received_on == refused
        assert status.earliest_suspension == start_of(refused + 15 * DAY)
        await sleep_until(skipping_env, start_of(refused + 14 * DAY) + timedelta(hours=23))
        assert not await suspension_filed(ebok, billed, operator)
        await sleep_until(skipping_env, start_of(refused + 15 * DAY) + timedelta(hours=1))
        assert await suspension_filed(ebok, billed, operator)
        await ebok.cancel_invoice(billed.number, "koniec testu", "ewa.z")


async def test_einvoice_customer_without_electronic_notices_gets_a_letter(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok: EbokClient,
) -> None:
    letter_only = await an_invoice(store)
    by_email = await an_invoice(store)
    assert letter_only.email and by_email.email
    post = SandboxPost.from_settings(settings)
    async with worker_for(skipping_env.client, settings, store):
        await ebok.set_postal_address(
            by_email.partner.number, "Anna Nowak", "ul. Długa 1", "00-238", "Warszawa"
        )
        # The agreement of the partner's web account, as the store has it at the issue.
        account, _ = await an_account(store)
        async with store.begin() as uow:
            await uow.billing.link(account, by_email.partner.number, datetime.now(UTC), "ppe")
        text = "Zgadzam się na pisma, także wezwania do zapłaty, na mój adres e-mail."
        await ebok.give_consent(account, "electronic_notices", "2026-01", "web", text=text)
        await ebok.issue_invoice(by_email.invoice)
        status = await demanded(skipping_env, ebok, letter_only)
        assert status.notice_channel == "letter" and status.letter_tracking_id
        mine = [x for x in post.letters() if x.key == m.letter_key(letter_only.number, 1)]
        assert len(mine) == 1

        emailed = await ebok.invoice_status(by_email.number)
        day = (await skipping_env.get_current_time()).date()
        assert emailed.state is m.State.DEMANDED and emailed.notice_channel == "email"
        assert emailed.notice_received_on == day  # the day the relay took it
        assert emailed.earliest_suspension == start_of(day + 15 * DAY)
        assert not [x for x in post.letters() if x.key == m.letter_key(by_email.number, 1)]
        for billed in (letter_only, by_email):
            await ebok.cancel_invoice(billed.number, "koniec testu", "ewa.z")
    to_letter_only = [str(x["Subject"]) for x in addressed_to(smtpd.messages, letter_only.email)]
    assert to_letter_only and not [s for s in to_letter_only if "Wezwanie" in s]
    demand = [x for x in addressed_to(smtpd.messages, by_email.email) if "Wezwanie" in x["Subject"]]
    assert len(demand) == 1 and "art. 6b" in body(demand[0])


async def test_news_arriving_after_the_period_files_at_once(
    skipping_env: WorkflowEnvironment, settings: Settings, store: Store, ebok: EbokClient
) -> None:
    billed = await an_invoice(store, consent=False)
    operator = SandboxOperator(billed.partner.registry)
    post = SandboxPost.from_settings(settings)
    async with worker_for(skipping_env.client, settings, store, operator=operator):
        status = await demanded(skipping_env, ebok, billed)
        tracking = status.letter_tracking_id
        assert tracking is not None
        posted = (await post.letter_status(tracking)).posted_on
        await sleep_until(skipping_env, start_of(posted + 25 * DAY))
        assert not await suspension_filed(ebok, billed, operator)
        await ebok.letter_notification(*post.deliver(tracking, posted + 2 * DAY))
        await skipping_env.sleep(timedelta(minutes=5))
        status = await ebok.invoice_status(billed.number)
        assert status.state is m.State.SUSPENSION_FILED, status.detail
        await ebok.cancel_invoice(billed.number, "koniec testu", "ewa.z")


async def test_no_postal_address_tells_staff_and_resend_posts_the_letter(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok: EbokClient,
) -> None:
    billed = await an_invoice(store, consent=False)
    post = SandboxPost.from_settings(settings)
    async with worker_for(skipping_env.client, settings, store):
        await ebok.issue_invoice(billed.invoice)
        await sleep_until(skipping_env, start_of(billed.invoice["due_date"] + 30 * DAY) + DAY)
        status = await ebok.invoice_status(billed.number)
        assert status.state is m.State.DEMANDED and status.letter_tracking_id is None
        assert "notice letter not sent" in status.detail and "postal address" in status.detail
        (staff,) = addressed_to(await smtpd.wait_for(1), settings.backoffice_email)
        assert "nie zostało nadane" in str(staff["Subject"]) and "resend_notice" in body(staff)
        assert post.letters() == []

        await ebok.set_postal_address(
            billed.partner.number, "Jan Klient", "ul. Polna 3", "00-001", "Warszawa"
        )
        resent = await ebok.resend_notice(billed.number, "ewa.z")
        assert resent.letter_state is m.LetterState.POSTED and resent.letter_tracking_id
        assert resent.detail == "" and resent.earliest_suspension is None
        assert [x.tracking_id for x in post.letters()] == [resent.letter_tracking_id]
        await ebok.cancel_invoice(billed.number, "koniec testu", "ewa.z")
