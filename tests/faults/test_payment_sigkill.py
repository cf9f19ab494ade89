"""Worker processes killed with SIGKILL while payments are being applied to invoices."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from adapters.payments.sandbox import SandboxPayments
from ebok.store.db import Store
from entrypoints.webhooks.payments import run_webhooks
from facade.client import EbokClient
from tests.conftest import make_settings
from tests.faults.conftest import FaultLedger, fault_seed, migrated_store
from tests.faults.journeys import Interruptions, all_of, interruptions
from tests.faults.mailbox import CountingSmtpServer
from tests.faults.payments import (
    SANDBOX_KEY,
    Books,
    Case,
    Deliveries,
    books_of,
    delivered,
    issue_all,
    issued_id,
    mails_of,
    paid_id,
    plan_cases,
    settle,
)
from tests.faults.processes import WorkerProcess, worker_env
from tests.faults.test_worker_sigkill import AT_LEAST_ONCE_WINDOW, LATE_ARRIVAL, MIN_GAP

pytestmark = pytest.mark.asyncio(loop_scope="session")

INVOICES = 50  # per database
SPREAD = 12.0  # seconds over which the payment messages are delivered


def kill_plan(rng: random.Random) -> list[float]:
    """3-5 moments in (0.5 s, SPREAD), in order, at least MIN_GAP apart."""
    count = rng.randint(3, 5)
    while True:
        plan = sorted(rng.uniform(0.5, SPREAD) for _ in range(count))
        if all(b - a >= MIN_GAP for a, b in zip(plan, plan[1:], strict=False)):
            return plan


@dataclass
class Fleet:
    kind: str
    plan: list[float]
    rng: random.Random
    cases: list[Case] = field(default_factory=list)
    kill_times: list[float] = field(default_factory=list)
    relay: CountingSmtpServer = field(default_factory=CountingSmtpServer)
    books: Books | None = None
    deliveries: Deliveries | None = None
    late: list[str] = field(default_factory=list)
    seen: Interruptions = field(default_factory=Interruptions)
    mails: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def unexplained_duplicates(self) -> list[str]:
        """Mails sent twice whose first copy was not accepted just before a kill."""
        return [
            mid
            for mid, n in self.mails.items()
            if n > 1
            and not any(
                -LATE_ARRIVAL <= kill - self.relay.arrivals[mid][0] <= AT_LEAST_ONCE_WINDOW
                for kill in self.kill_times
            )
        ]


async def run_fleet(
    fleet: Fleet, env: WorkflowEnvironment, store: Store, url: str, work_dir: Path
) -> None:
    """One database, relay, sandbox ledger and worker process, killed on ``fleet.plan``."""
    started = time.monotonic()
    await fleet.relay.start()
    queue = f"ebok-paykill-{fleet.kind}-{uuid.uuid4().hex[:8]}"
    settings = make_settings(
        url,
        fleet.relay.port,
        task_queue=queue,
        execution_timeout=timedelta(minutes=10),
        payments_sandbox_key=SANDBOX_KEY,
    )
    environ = worker_env(
        temporal_address=env.client.service_client.config.target_host,
        database_url=url,
        task_queue=queue,
        smtp_port=fleet.relay.port,
    )
    environ.update(
        EBOK_PAYMENTS_SANDBOX_DIR=str(settings.payments_sandbox_dir),
        EBOK_PAYMENTS_SANDBOX_KEY=SANDBOX_KEY,
    )
    worker = WorkerProcess(environ, cwd=work_dir, name=f"worker-{fleet.kind}")
    ebok = EbokClient(env.client, store, settings)
    fleet.deliveries = deliveries = Deliveries(fleet.rng, work_dir)
    runner = await run_webhooks(ebok, "sandbox", "127.0.0.1", 0)
    host, port = runner.addresses[0][:2]
    try:
        fleet.cases = await plan_cases(store, fleet.rng, INVOICES)
        await worker.start()
        async with asyncio.timeout(60):
            await issue_all(ebok, fleet.cases)
            await delivered(fleet.relay, fleet.cases)
        await deliveries.prepare(fleet.cases, SandboxPayments.from_settings(settings), fleet.relay)
        t0 = time.monotonic()
        step = SPREAD / len(deliveries.items)

        async def pace(i: int) -> None:
            await asyncio.sleep(max(0.0, t0 + i * step - time.monotonic()))

        async def killer() -> None:
            for at in fleet.plan:
                await asyncio.sleep(max(0.0, t0 + at - time.monotonic()))
                fleet.kill_times.append(time.monotonic())
                await worker.kill()
                await worker.start()

        # Deliveries are paced over SPREAD; each kill adds a worker start, which may take up to
        # its own ready limit on a loaded machine. The bound only turns a hang into a failure.
        async with asyncio.timeout(SPREAD + 30 + 60 * len(fleet.plan)):
            await all_of(
                deliveries.deliver(
                    ebok, f"http://{host}:{port}/payments/sandbox/notify", pace=pace
                ),
                killer(),
            )
        # An activity cut off by a kill is retried once its start-to-close timeout (60 s)
        # has passed: the last invoices settle about a minute after the last kill.
        fleet.late = await settle(env.client, fleet.cases, within=100)
        fleet.books = await books_of(store, env.client, fleet.cases)
        fleet.seen = await interruptions(env.client, [c.billed.workflow_id for c in fleet.cases])
        await asyncio.sleep(LATE_ARRIVAL)  # a paid confirmation still on its way
        fleet.mails = mails_of(fleet.relay, fleet.cases)
    finally:
        try:
            await worker.stop()
        finally:
            await runner.cleanup()
            await fleet.relay.stop()
        fleet.seconds = time.monotonic() - started


async def test_sigkilled_workers_apply_every_payment_once(
    env: WorkflowEnvironment,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    ledger: FaultLedger,
) -> None:
    """Injects: SIGKILL of the worker process (``python worker.py``, a child process) 3-5
    times at random moments over the 12 s in which the payments of 50 invoices per database
    are delivered (notifications repeated and stale ones mixed in, statements loaded twice,
    through the facade and the webhook receiver: see test_payment_notifications); a new
    worker process starts after each kill. SQLite (a file shared by the test and the worker)
    and PostgreSQL each get their own worker, relay, sandbox ledger and kill schedule, run at
    the same time. Seeded: the seed is printed.

    Checks: the kills cut off work in flight; every invoice gets where its payments put it;
    every payment is booked exactly once (no (source, reference) twice, none lost, rows,
    state, credit, audit rows and the workflow's status exact); every e-invoice and every
    paid confirmation reaches the relay — more than once only by the at-least-once window
    of a kill right after the relay accepted it, and then at most twice."""
    chosen = request.config.getoption("--db")
    kinds = ["sqlite", "postgresql"] if chosen == "all" else [chosen]
    seed = fault_seed()
    rng = random.Random(seed)
    urls = {"sqlite": f"sqlite+aiosqlite:///{tmp_path / 'paykill.db'}"}
    if "postgresql" in kinds:
        urls["postgresql"] = request.getfixturevalue("postgres_database")
    fleets = [Fleet(kind, kill_plan(rng), random.Random(rng.random())) for kind in kinds]
    stores: dict[str, Store] = {}
    try:
        for kind in kinds:  # one at a time: Alembic keeps its context in module globals
            stores[kind] = await migrated_store(urls[kind])
        await all_of(
            *(run_fleet(f, env, stores[f.kind], urls[f.kind], tmp_path / f.kind) for f in fleets)
        )
    finally:
        for store in stores.values():
            await store.aclose()

    for f in fleets:
        assert f.books is not None and f.deliveries is not None
        twice = {mid: n for mid, n in f.mails.items() if n > 1}
        ledger.add(
            workflows=len(f.cases),
            faults=len(f.kill_times),
            lost=len(f.books.lost),
            duplicated=len(f.books.extra) + len(f.books.twice) + sum(n - 1 for n in twice.values()),
            note=(
                f"worker SIGKILL during payments [{f.kind}] seed {seed}: {len(f.cases)} invoices,"
                f" {sum(len(c.paid) for c in f.cases)} payments in"
                f" {len(f.deliveries.items)} messages, kills at"
                f" {', '.join(f'{t:.1f}' for t in f.plan)} s, done in {f.seconds:.0f} s; cut"
                f" off: {f.seen.workflow_task_timeouts} workflow tasks, retried activities"
                f" {dict(f.seen.retried or {})}; outcomes: {f.deliveries.summary()}; checked"
                f" {f.books.rows_total} payment rows: lost {len(f.books.lost)}, booked and"
                f" reported {len(f.books.extra)}, twice {len(f.books.twice)}, invoices off"
                f" {len(f.books.wrong)}; invoice mails {len(f.mails)}, delivered twice"
                f" {len(twice)}"
            ),
        )
    for f in fleets:
        assert f.books is not None
        assert len(f.kill_times) == len(f.plan) >= 3
        assert not f.late, f"[{f.kind}] seed {seed}: not settled: {f.late[:5]}"
        assert f.seen.not_completed == sum(not c.settled for c in f.cases)
        assert f.seen.total > 0, f"[{f.kind}] no kill hit work in flight"
        assert not f.books.twice and not f.books.lost and not f.books.extra, (
            seed, f.books.lost, f.books.extra
        )  # fmt: skip
        assert not f.books.wrong, f"[{f.kind}] seed {seed}: " + "\n".join(f.books.wrong[:10])
        for case in f.cases:
            if case.kind in ("online", "abandoned", "mixed"):
                assert f.mails.get(issued_id(case.number), 0) >= 1
                assert (paid_id(case.number) in f.mails) == case.settled
        assert f.unexplained_duplicates() == [], (
            f"[{f.kind}] kills at {f.kill_times}, copies at "
            f"{ {mid: f.relay.arrivals[mid] for mid in f.unexplained_duplicates()} }"
        )
        assert all(n <= 2 for n in f.mails.values())
