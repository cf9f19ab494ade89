"""Account deletion on the time-skipping server: the 14-day cooling-off, cancelled by signing
in on day 13, completed on day 14 (with a scan of the whole store for the account's personal
data), stopped by staff, and a confirmation link left to expire. Real SMTP into aiosmtpd,
real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from ebok.errors import NotFound, WrongState
from ebok.models import deletion as m
from ebok.models import einvoice as einvoice_m
from ebok.models import linking as linking_m
from ebok.models.search import EBOK_DEADLINE, EBOK_OUTCOME, EBOK_PROCESS, EBOK_STATUS
from ebok.settings import Settings
from ebok.store import tables as t
from ebok.store.db import Store
from entrypoints.devsmtp import DevSmtpServer
from facade.client import EbokClient, deletion_workflow_id, einvoice_workflow_id
from facade.linking import linking_workflow_id
from tests.conftest import make_settings, worker_for
from tests.factories import a_linked_account, a_partner
from tests.mailbox import addressed_to, body, link_token
from tests.sentinel import assert_unseen, visible_to_temporal, watch_logs
from tests.store.scan import scan_store
from tests.timeskip import outcome

pytestmark = pytest.mark.asyncio(loop_scope="session")

COOLING_OFF = timedelta(days=14)


async def an_old_report(store: Store, ppe: str, email: str, phone: str) -> str:
    report_id = f"outage-{uuid.uuid4().hex[:20]}"
    now = datetime.now(UTC) - timedelta(days=40)
    async with store.begin() as uow:
        await uow.conn.execute(
            t.outage_reports.insert().values(
                id=report_id,
                reporter_key=f"contact:{email}",
                household=True,
                email=email.upper(),  # as typed; matched whatever the case
                phone=phone,
                language="pl",
                ppe=ppe,
                description=f"Proszę dzwonić: {phone}",
                reported_at=now,
                closed_at=now + timedelta(days=30),
            )
        )
        await uow.outages.add_note(report_id, f"Mój e-mail: {email}", now)
    return report_id


def token_of(mail: Any) -> str:
    return link_token(mail, m.CONFIRM_PAGE)


async def login_of(store: Store, account: str) -> str:
    async with store.begin() as uow:
        record = await uow.accounts.get(account)
    assert record is not None
    return record.login


async def requested_and_confirmed(
    ebok: EbokClient, smtpd: DevSmtpServer, account: str, email: str, mails_before: int = 0
) -> m.ConfirmAnswer:
    await ebok.request_deletion(account)
    mails = addressed_to(await smtpd.wait_for(mails_before + 1), email)
    assert mails[-1]["Subject"] == "Potwierdź usunięcie konta w eBOK"
    answer = await ebok.confirm_deletion(token_of(mails[-1]))
    assert answer.outcome is m.ConfirmOutcome.SCHEDULED
    return answer


async def test_signing_in_on_day_13_cancels_the_deletion(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok_for: Any,
) -> None:
    ebok: EbokClient = ebok_for(skipping_env.client)
    account, email, partner = await a_linked_account(store)
    assert await ebok.cancel_deletion_on_sign_in(account) is False  # nothing to cancel
    async with worker_for(skipping_env.client, settings, store):
        answer = await requested_and_confirmed(ebok, smtpd, account, email)
        scheduled = (await smtpd.wait_for(2))[1]
        assert scheduled["Subject"].startswith("Usunięcie konta zaplanowane na ")
        assert "zalogować się" in body(scheduled)
        assert answer.erase_at is not None

        await skipping_env.sleep(timedelta(days=13))
        status = await ebok.deletion_status(account)
        assert status.state is m.State.SCHEDULED and status.erase_at == answer.erase_at

        assert await ebok.cancel_deletion_on_sign_in(account) is True
        closed = await outcome(skipping_env, deletion_workflow_id(account), m.DeletionStatus)
        assert await ebok.cancel_deletion_on_sign_in(account) is False  # already cancelled
    assert closed.state is m.State.CANCELLED and closed.cancelled_by == "sign_in"
    async with store.begin() as uow:
        assert (await uow.accounts.get(account)) is not None
        assert await uow.billing.partners_of_account(account) == [partner.number]
    assert len(smtpd.messages) == 2  # nothing more after the cancellation


async def test_day_14_erases_the_account_ends_its_processes_and_keeps_the_invoices(
    skipping_env: WorkflowEnvironment,
    db_url: str,
    store: Store,
    smtpd: DevSmtpServer,
    ebok_for: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    watch_logs(caplog)
    settings = make_settings(db_url, smtpd.port)
    ebok: EbokClient = ebok_for(skipping_env.client, settings)
    account, email, partner = await a_linked_account(store)
    login = await login_of(store, account)
    phone = f"+48 6{uuid.uuid4().int % 10**8:08d}"
    other = await a_partner(store)
    invoice_number = partner.invoices[0][0]
    payment_ref = f"BANK-{uuid.uuid4().hex[:12]}"
    async with store.begin() as uow:
        await uow.conn.execute(
            t.payments.insert().values(
                source="bank",
                reference=payment_ref,
                invoice_number=invoice_number,
                amount_grosze=1000,
                received_at=datetime.now(UTC),
                recorded_at=datetime.now(UTC),
            )
        )
    wid = deletion_workflow_id(account)
    async with worker_for(skipping_env.client, settings, store):
        # Open processes: e-invoice in force, a linking attempt waiting; an old anonymous
        # outage report left with the account's address and a phone (its workflow long gone:
        # reports with live workflows are in test_deletion_processes.py).
        await an_old_report(store, partner.ppes[0], email, phone)
        await ebok.request_einvoice(account, partner.number, "2026-01")
        consent_link = link_token((await smtpd.wait_for(1))[0], einvoice_m.CONFIRM_PAGE)
        assert await ebok.confirm_einvoice(consent_link) is einvoice_m.ConfirmOutcome.ACTIVE
        await smtpd.wait_for(2)  # "e-faktura aktywna"
        attempt = await ebok.link_partner(
            account, other.number, invoice_number=other.invoices[0][0], gross="1,00"
        )
        assert attempt.outcome is linking_m.Outcome.NO_MATCH
        before = len(smtpd.messages)

        answer = await requested_and_confirmed(ebok, smtpd, account, email, before)
        assert answer.erase_at is not None
        handle = skipping_env.client.get_workflow_handle(wid)
        attrs = (await handle.describe()).typed_search_attributes
        assert attrs.get(EBOK_PROCESS) == "deletion" and attrs.get(EBOK_STATUS) == "scheduled"
        assert attrs.get(EBOK_DEADLINE) == answer.erase_at

        await skipping_env.sleep(COOLING_OFF - timedelta(minutes=1))
        assert (await ebok.deletion_status(account)).state is m.State.SCHEDULED
        async with store.begin() as uow:
            assert (await uow.accounts.get(account)) is not None  # the day before: all there

        done = await outcome(skipping_env, wid, m.DeletionStatus, step=timedelta(minutes=1))
        assert done.state is m.State.DELETED and done.deleted_at is not None
        assert done.deleted_at >= answer.erase_at
        ended = "\n".join(done.processes_ended)
        assert f"{einvoice_workflow_id(partner.number)}: withdrawn" in ended
        assert f"{linking_workflow_id(account)}: cancelled" in ended
        for closed_id in (einvoice_workflow_id(partner.number), linking_workflow_id(account)):
            described = await skipping_env.client.get_workflow_handle(closed_id).describe()
            assert described.status != WorkflowExecutionStatus.RUNNING
        visible = (await visible_to_temporal(handle, caplog))[1]
        mails = smtpd.messages

    subjects = [mail["Subject"] for mail in addressed_to(mails, email)]
    assert subjects[-1] == "Konto w eBOK zostało usunięte"
    assert "E-faktura wyłączona — wracamy do faktur papierowych" in subjects
    assert_unseen(visible, {"email": email, "login": login, "phone": phone})

    found = await scan_store(store, {"email": email, "login": login, "phone": phone})
    assert found == [], found
    async with store.begin() as uow:
        assert await uow.accounts.get(account) is None
        assert await uow.billing.partners_of_account(account) == []
        kept = await uow.conn.execute(
            select(t.invoices.c.number).where(t.invoices.c.partner_number == partner.number)
        )
        assert invoice_number in kept.scalars().all()
        paid = await uow.conn.execute(
            select(t.payments.c.amount_grosze).where(t.payments.c.reference == payment_ref)
        )
        assert paid.scalar_one() == 1000
        assert (await uow.consents.active_for(partner.number)) is None  # back to paper
        history = await uow.consents.history(partner.number)
        assert len(history) == 1 and history[0].email == "" and history[0].withdrawn_at


async def test_staff_stop_a_scheduled_deletion(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok_for: Any,
) -> None:
    ebok: EbokClient = ebok_for(skipping_env.client)
    account, email, _ = await a_linked_account(store)
    wid = deletion_workflow_id(account)
    async with worker_for(skipping_env.client, settings, store):
        await requested_and_confirmed(ebok, smtpd, account, email)
        handle = skipping_env.client.get_workflow_handle(wid)
        details = (await handle.query("__temporal_workflow_metadata")).current_details
        assert "erased on" in details and "update `cancel`" in details
        await skipping_env.sleep(timedelta(days=3))

        stopped = await ebok.cancel_deletion(account, by="staff", staff="anna.b", reason="phone")
        assert stopped.state is m.State.CANCELLED and "anna.b" in stopped.detail
        with pytest.raises((WrongState, NotFound)):  # the run finishing, or closed
            await ebok.cancel_deletion(account, by="staff", staff="anna.b")
        closed = await outcome(skipping_env, wid, m.DeletionStatus)
        attrs = (await handle.describe()).typed_search_attributes
        assert attrs.get(EBOK_OUTCOME) == "cancelled"

        # A new request starts a new run with a new link; the old one stays spent.
        again = await ebok.request_deletion(account)
        assert again.link_number == 1
        fresh = token_of(addressed_to(await smtpd.wait_for(3), email)[-1])
        assert (await ebok.deletion_status(account)).state is m.State.AWAITING_CONFIRMATION
        assert (await ebok.confirm_deletion(fresh)).outcome is m.ConfirmOutcome.SCHEDULED
        await ebok.cancel_deletion(account)
    assert closed.cancelled_by == "staff"
    async with store.begin() as uow:
        assert (await uow.accounts.get(account)) is not None


async def test_an_expired_confirmation_link_deletes_nothing(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok_for: Any,
) -> None:
    ebok: EbokClient = ebok_for(skipping_env.client)
    account, email, partner = await a_linked_account(store)
    async with worker_for(skipping_env.client, settings, store):
        pending = await ebok.request_deletion(account)
        token = token_of((await smtpd.wait_for(1))[0])
        await skipping_env.sleep(settings.deletion_link_ttl - timedelta(minutes=1))
        assert (await ebok.deletion_status(account)).state is m.State.AWAITING_CONFIRMATION
        await skipping_env.sleep(timedelta(minutes=2))
        closed = await outcome(skipping_env, deletion_workflow_id(account), m.DeletionStatus)
        assert closed.state is m.State.EXPIRED and closed.expires_at == pending.expires_at
        assert (await ebok.confirm_deletion(token)).outcome is m.ConfirmOutcome.EXPIRED
        assert (await ebok.confirm_deletion("0" * 64)).outcome is m.ConfirmOutcome.INVALID
    async with store.begin() as uow:
        assert (await uow.accounts.get(account)) is not None
        assert await uow.billing.partners_of_account(account) == [partner.number]
    assert len(smtpd.messages) == 1


async def test_a_refused_address_does_not_stop_the_erasure(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok_for: Any,
) -> None:
    """The relay refuses the address for good after the confirmation: the deletion goes on
    without its mails, and the UI says which one is missing."""
    ebok: EbokClient = ebok_for(skipping_env.client)
    account, email, _ = await a_linked_account(store)
    async with worker_for(skipping_env.client, settings, store):
        await ebok.request_deletion(account)
        token = token_of((await smtpd.wait_for(1))[0])
        smtpd.reject(email)
        assert (await ebok.confirm_deletion(token)).outcome is m.ConfirmOutcome.SCHEDULED
        await skipping_env.sleep(timedelta(hours=1))
        status = await ebok.deletion_status(account)
        assert status.state is m.State.SCHEDULED and "scheduled mail was not sent" in status.detail
        await skipping_env.sleep(COOLING_OFF)
        done = await outcome(skipping_env, deletion_workflow_id(account), m.DeletionStatus)
    assert done.state is m.State.DELETED
    assert len(smtpd.messages) == 1  # the link only
    async with store.begin() as uow:
        assert await uow.accounts.get(account) is None
