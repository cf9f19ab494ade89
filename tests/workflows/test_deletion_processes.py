"""Account deletion ends the account's open outage reports through their own signal, on the
dev server with a cooling-off of seconds (the reports' incident keeps timers of its own,
which two skipped weeks would run through). Real SMTP, SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from ebok.models import deletion as m
from ebok.models import outage as outage_m
from ebok.store import tables as t
from ebok.store.db import Store
from ebok.store.registrations import RegistrationRecord
from entrypoints.devsmtp import DevSmtpServer
from facade.client import EbokClient, deletion_workflow_id, registration_workflow_id
from tests.conftest import make_settings, worker_for
from tests.factories import a_linked_account
from tests.mailbox import addressed_to, link_token
from tests.store.scan import scan_store

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def deletion_link_mail(smtpd: DevSmtpServer, email: str, before: int) -> Any:
    """The confirmation mail, among the outage mails arriving meanwhile."""
    for count in range(before + 1, before + 20):
        mails = addressed_to(await smtpd.wait_for(count), email)
        found = [mail for mail in mails if mail["Subject"] == "Potwierdź usunięcie konta w eBOK"]
        if found:
            return found[0]
    raise AssertionError("no confirmation mail")


@pytest.mark.skip(
    reason="quarantined: in the whole suite the first outage_status query times out (RPC "
    "'Timeout expired') on both databases while it passes alone; cause not yet found"
)
async def test_open_outage_reports_are_closed_and_erased(
    env: WorkflowEnvironment, db_url: str, store: Store, smtpd: DevSmtpServer, ebok_for: Any
) -> None:
    settings = make_settings(db_url, smtpd.port, deletion_cooling_off=timedelta(seconds=2))
    ebok: EbokClient = ebok_for(env.client, settings)
    account, email, partner = await a_linked_account(store)
    phone = f"+48 5{uuid.uuid4().int % 10**8:08d}"
    async with worker_for(env.client, settings, store):
        mine = await ebok.report_outage(partner.ppes[0], "Brak prądu", account_id=account)
        anonymous = await ebok.report_outage(
            partner.ppes[0], f"Oddzwońcie: {phone}", email=email, phone=phone
        )
        for report in (mine, anonymous):
            status = await ebok.outage_status(report.report_id)
            assert status.report.state not in (outage_m.ReportState.CLOSED,)
        before = len(smtpd.messages)
        await ebok.request_deletion(account)
        link_mail = await deletion_link_mail(smtpd, email, before)
        await ebok.confirm_deletion(link_token(link_mail, m.CONFIRM_PAGE))
        handle = env.client.get_workflow_handle(
            deletion_workflow_id(account), result_type=m.DeletionStatus
        )
        done = await handle.result()
        ended = "\n".join(done.processes_ended)
        for report in (mine, anonymous):
            assert f"{report.report_id}: closed (signal incident_closed)" in ended
            closed = await env.client.get_workflow_handle(report.report_id).query(
                "status", result_type=outage_m.ReportStatus
            )
            assert closed.state is outage_m.ReportState.CLOSED
    assert done.state is m.State.DELETED
    assert await scan_store(store, {"email": email, "phone": phone}) == []
    async with store.begin() as uow:
        rows = await uow.conn.execute(
            select(t.outage_reports.c.ppe, t.outage_reports.c.closed_at).where(
                t.outage_reports.c.id.in_([mine.report_id, anonymous.report_id])
            )
        )
        kept = rows.all()
    # The reports stay, closed and anonymous, for the PPE's interruption record.
    assert len(kept) == 2 and all(r.ppe == partner.ppes[0] and r.closed_at for r in kept)


async def test_a_registration_still_running_is_cancelled_by_its_update(
    env: WorkflowEnvironment, db_url: str, store: Store, smtpd: DevSmtpServer, ebok_for: Any
) -> None:
    """An account whose registration process has not ended yet (its welcome mail, say): the
    registration's own ``cancel`` ends it, and its purge and the erasure agree."""
    settings = make_settings(db_url, smtpd.port, deletion_cooling_off=timedelta(seconds=1))
    ebok: EbokClient = ebok_for(env.client, settings)
    tag = uuid.uuid4().hex[:8]
    email, login = f"rejestracja.{tag}@example.pl", f"rejestracja{tag}"
    async with worker_for(env.client, settings, store):
        registered = await ebok.register(email, login)
        account = registered.registration_id
        now = datetime.now(UTC)
        record = RegistrationRecord(
            account, email, login, "x", "pl", "activated", "2026-01", now, now
        )
        async with store.begin() as uow:
            await uow.accounts.create_from(record, now)
        await ebok.request_deletion(account)
        link_mail = await deletion_link_mail(smtpd, email, 0)
        await ebok.confirm_deletion(link_token(link_mail, m.CONFIRM_PAGE))
        done = await env.client.get_workflow_handle(
            deletion_workflow_id(account), result_type=m.DeletionStatus
        ).result()
        registration = await ebok.registration_status(account)
    assert done.state is m.State.DELETED
    assert f"{registration_workflow_id(account)}: cancelled (update cancel)" in done.processes_ended
    assert registration.status.value == "cancelled"
    assert await scan_store(store, {"email": email, "login": login}) == []


async def test_a_pending_email_change_the_profile_and_consents(
    env: WorkflowEnvironment, db_url: str, store: Store, smtpd: DevSmtpServer, ebok_for: Any
) -> None:
    """An e-mail change waiting for its confirmation is cancelled by its own update; the
    profile (phone, address), the change's addresses and billing's pending copy are erased;
    the RODO consents' proof stays, without contact data."""
    settings = make_settings(db_url, smtpd.port, deletion_cooling_off=timedelta(seconds=1))
    ebok: EbokClient = ebok_for(env.client, settings)
    account, email, partner = await a_linked_account(store)
    national = f"6{uuid.uuid4().int % 10**8:08d}"
    new_email = f"nowy.{uuid.uuid4().hex[:8]}@example.pl"
    async with worker_for(env.client, settings, store):
        await ebok.update_profile(
            account,
            phone=national,
            address={"street": "ul. Testowa 1", "postal_code": "00-950", "city": "Warszawa"},
        )
        await ebok.give_consent(account, "marketing_email", "2026-01", "web", text="Zgoda")
        await ebok.request_email_change(account, new_email)
        exported = await ebok.export_account_data(account)
        assert exported.sections["profile_details"][0]["phone"].endswith(national)
        assert exported.sections["email_changes"][0]["new_email"] == new_email
        assert exported.sections["rodo_consents"][0]["purpose"] == "marketing_email"
        before = len(smtpd.messages)
        await ebok.request_deletion(account)
        link_mail = await deletion_link_mail(smtpd, email, before)
        await ebok.confirm_deletion(link_token(link_mail, m.CONFIRM_PAGE))
        done = await env.client.get_workflow_handle(
            deletion_workflow_id(account), result_type=m.DeletionStatus
        ).result()
    assert done.state is m.State.DELETED
    assert f"email-change-{account}: cancelled (update cancel)" in done.processes_ended
    found = await scan_store(
        store, {"email": email, "new email": new_email, "phone": national, "street": "Testowa 1"}
    )
    assert found == []
    async with store.begin() as uow:
        kept = await uow.conn.execute(
            select(t.rodo_consents.c.purpose).where(t.rodo_consents.c.account_id == account)
        )
        assert kept.scalars().all() == ["marketing_email"]
    assert partner.number  # the partner and its invoices are billing's: untouched
