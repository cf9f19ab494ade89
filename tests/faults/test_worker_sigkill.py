"""Worker processes killed with SIGKILL while customers register end to end."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from temporalio.testing import WorkflowEnvironment

from ebok.models import registration as m
from ebok.store.db import Store
from ebok.store.tables import accounts
from facade.client import EbokClient, registration_workflow_id
from tests.conftest import make_settings
from tests.faults.conftest import FaultLedger, migrated_store, per_kill
from tests.faults.journeys import (
    Interruptions,
    activate_by_mail,
    all_of,
    finished,
    interruptions,
    registration_states,
    step_one,
    step_two,
)
from tests.faults.mailbox import CountingSmtpServer, activation_id, welcome_id
from tests.faults.processes import WorkerProcess, worker_env
from tests.mailbox import activation_token

pytestmark = pytest.mark.asyncio(loop_scope="session")

CUSTOMERS = 100  # per database
SPREAD = 12.0  # seconds over which the customers arrive
MIN_GAP = 2.0  # between two kills; a replacement worker must have started first
# The relay has accepted a mail but the kill lands before its Message-ID is committed to the
# sent-mail log: the retried activity cannot know, and sends it again. The send and the
# INSERT take milliseconds; a few seconds of slack covers a loaded two-core machine.
AT_LEAST_ONCE_WINDOW = 3.0
# A message the killed worker had finished writing may be read by the relay (on this
# process's busy event loop) just after the kill.
LATE_ARRIVAL = 1.0


def kill_plan(rng: random.Random) -> list[float]:
    """3-5 moments in (1 s, SPREAD), in order, at least MIN_GAP apart."""
    count = rng.randint(3, 5)
    while True:
        plan = sorted(rng.uniform(1.0, SPREAD) for _ in range(count))
        if all(b - a >= MIN_GAP for a, b in zip(plan, plan[1:], strict=False)):
            return plan


@dataclass
class Fleet:
    kind: str
    plan: list[float]
    kill_times: list[float] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    stale_links: list[str] = field(default_factory=list)
    states: dict[str, str] = field(default_factory=dict)  # registration rows in the store
    results: list[m.RegistrationStatus | BaseException] = field(default_factory=list)
    accounts: int = 0
    relay: CountingSmtpServer = field(default_factory=CountingSmtpServer)
    seen: Interruptions = field(default_factory=Interruptions)
    seconds: float = 0.0

    @property
    def lost(self) -> int:
        return sum(
            not isinstance(r, m.RegistrationStatus) or r.status is not m.Status.ACTIVATED
            for r in self.results
        )

    def sent_twice(self) -> dict[str, int]:
        return self.relay.duplicates()

    def cause(self, mid: str) -> int | None:
        """The index of the first kill just after ``mid``'s first copy was accepted."""
        first = self.relay.arrivals[mid][0]
        for index, kill in enumerate(self.kill_times):
            if -LATE_ARRIVAL <= kill - first <= AT_LEAST_ONCE_WINDOW:
                return index
        return None

    def unexplained_duplicates(self) -> list[str]:
        """Duplicates whose first copy was not accepted just before a kill."""
        return [mid for mid in self.relay.duplicates() if self.cause(mid) is None]

    def duplicates_per_kill(self) -> list[int]:
        """Per kill, the mails it caused to be sent again."""
        counts = [0] * len(self.kill_times)
        for mid, copies in self.relay.duplicates().items():
            index = self.cause(mid)
            if index is not None:
                counts[index] += copies - 1
        return counts


def failures(results: list[m.RegistrationStatus | BaseException]) -> str:
    """How many journeys failed, by the error's type, for the summary."""
    kinds = Counter(type(r).__name__ for r in results if isinstance(r, BaseException))
    return ", ".join(f"{n} {kind}" for kind, n in kinds.most_common()) or "none"


async def run_fleet(
    fleet: Fleet, env: WorkflowEnvironment, store: Store, url: str, work_dir: Path
) -> None:
    """One database, one relay, one worker process killed on ``fleet.plan``."""
    started = time.monotonic()
    await fleet.relay.start()
    queue = f"ebok-kill-{fleet.kind}-{uuid.uuid4().hex[:8]}"
    settings = make_settings(
        url, fleet.relay.port, task_queue=queue, execution_timeout=timedelta(minutes=10)
    )
    ebok = EbokClient(env.client, store, settings)
    worker = WorkerProcess(
        worker_env(
            temporal_address=env.client.service_client.config.target_host,
            database_url=url,
            task_queue=queue,
            smtp_port=fleet.relay.port,
        ),
        cwd=work_dir,
        name=f"worker-{fleet.kind}",
    )

    async def customer(index: int) -> m.RegistrationStatus:
        await asyncio.sleep(index * SPREAD / CUSTOMERS)
        rid = await step_one(ebok, f"kill{fleet.kind[:2]}")
        fleet.ids.append(rid)
        await step_two(ebok, rid)
        outcome = await activate_by_mail(ebok, fleet.relay, rid)
        if outcome is m.ActivationOutcome.INVALID:
            # The at-least-once window (see test_send_window): the retried activity issued
            # a new link and mailed it under the same Message-ID, and the link the customer
            # followed stopped working. They follow the newer mail.
            fleet.stale_links.append(rid)
            mails = await fleet.relay.copies_at_least(activation_id(rid), 2)
            outcome = await ebok.activate(activation_token(mails[-1]))
        assert outcome is m.ActivationOutcome.ACTIVATED, f"{rid}: {outcome}"
        return await finished(env.client, fleet.relay, rid)

    async def killer(t0: float) -> None:
        for at in fleet.plan:
            await asyncio.sleep(max(0.0, t0 + at - time.monotonic()))
            fleet.kill_times.append(time.monotonic())
            await worker.kill()
            await worker.start()

    try:
        await worker.start()
        t0 = time.monotonic()
        # A mail activity cut off by a kill is retried once its start-to-close timeout
        # (60 s) has passed, so the last customers finish about a minute after the last kill.
        async with asyncio.timeout(SPREAD + 150):
            journeys = asyncio.gather(
                *(customer(i) for i in range(CUSTOMERS)), return_exceptions=True
            )
            await killer(t0)
            fleet.results = list(await journeys)
        fleet.seen = await interruptions(
            env.client, [registration_workflow_id(rid) for rid in fleet.ids]
        )
        fleet.states = await registration_states(store, fleet.ids)
        async with store.begin() as uow:
            fleet.accounts = (
                await uow.conn.execute(
                    select(func.count())
                    .select_from(accounts)
                    .where(accounts.c.registration_id.in_(fleet.ids))
                )
            ).scalar_one()
    finally:
        try:
            await worker.stop()
        finally:
            await fleet.relay.stop()
        fleet.seconds = time.monotonic() - started


async def test_sigkilled_workers_lose_nothing(
    env: WorkflowEnvironment,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    ledger: FaultLedger,
) -> None:
    """Injects: SIGKILL of the worker process (``python worker.py``, a child process) 3-5
    times at random moments while 100 customers per database register end to end
    (register → set_credentials → activation mail at the relay → activate → welcome mail);
    a new worker process is started after each kill. SQLite (a file shared by the test and
    the worker) and PostgreSQL each get their own worker, relay and kill schedule, run at
    the same time.

    Checks: every workflow completes as activated, every customer has exactly one account,
    the kills did cut off work in flight (timed-out workflow tasks or retried activities in
    the histories), and no Message-ID reaches the relay twice — except, by design, a mail
    the relay accepted in the instant before a kill, before its Message-ID was committed to
    the sent-mail log (at-least-once); such duplicates are counted, printed, and must each
    be explained by a kill right after the first copy arrived, with at most one extra copy.
    A customer whose link stopped working (the retry re-issued it) must be one of those, and
    activates with the newer mail. The sent-mail record is committed at once, so the kills
    make no more duplicates than there are kills (printed per kill)."""
    chosen = request.config.getoption("--db")
    kinds = ["sqlite", "postgresql"] if chosen == "all" else [chosen]
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    urls = {"sqlite": f"sqlite+aiosqlite:///{tmp_path / 'kill.db'}"}
    if "postgresql" in kinds:
        urls["postgresql"] = request.getfixturevalue("postgres_database")
    fleets = [Fleet(kind, kill_plan(rng)) for kind in kinds]
    # One at a time: Alembic keeps its migration context in module globals.
    stores: dict[str, Store] = {}
    try:
        for kind in kinds:
            stores[kind] = await migrated_store(urls[kind])
        await all_of(
            *(run_fleet(f, env, stores[f.kind], urls[f.kind], tmp_path / f.kind) for f in fleets)
        )
    finally:
        for store in stores.values():
            await store.aclose()

    for f in fleets:
        twice = f.sent_twice()
        ledger.add(
            workflows=CUSTOMERS,
            faults=len(f.kill_times),
            lost=f.lost,
            duplicated=sum(n - 1 for n in twice.values()),
            kill_duplicates=f.duplicates_per_kill(),
            note=(
                f"worker SIGKILL [{f.kind}] seed {seed}: {CUSTOMERS} registrations, "
                f"kills at {', '.join(f'{t:.1f}' for t in f.plan)} s, done in {f.seconds:.0f} s;"
                f" cut off: {f.seen.workflow_task_timeouts} workflow tasks, retried activities"
                f" {dict(f.seen.retried or {})}; {per_kill(f.duplicates_per_kill())}, first"
                f" link dead: {len(f.stale_links)}, row left at awaiting_activation:"
                f" {sum(s != m.Status.ACTIVATED for s in f.states.values())};"
                f" journeys failed: {failures(f.results)}"
            ),
        )
    for f in fleets:
        errors = [r for r in f.results if isinstance(r, BaseException)]
        assert not errors, f"[{f.kind}] {len(errors)} journeys failed, first: {errors[0]!r}"
        assert len(f.kill_times) == len(f.plan) >= 3
        assert f.lost == 0 and len(f.ids) == CUSTOMERS
        assert f.seen.not_completed == 0
        assert f.accounts == CUSTOMERS
        assert f.seen.total > 0, f"[{f.kind}] no kill hit work in flight"
        for rid in f.ids:
            assert f.relay.count(activation_id(rid)) >= 1
            assert f.relay.count(welcome_id(rid)) >= 1
        assert f.unexplained_duplicates() == [], (
            f"[{f.kind}] kills at {f.kill_times}, copies at "
            f"{ {mid: f.relay.arrivals[mid] for mid in f.unexplained_duplicates()} }"
        )
        # At most one extra copy: one kill can cut off a given send only once.
        assert all(n == 2 for n in f.sent_twice().values())
        # And few sends at once: the record of a sent mail is committed milliseconds after
        # the relay's acceptance, not behind the worker's other transactions.
        assert sum(f.duplicates_per_kill()) <= len(f.kill_times), per_kill(f.duplicates_per_kill())
        # A followed link stops working only when its mail was sent again.
        assert {activation_id(rid) for rid in f.stale_links} <= set(f.sent_twice())
        # Known defect (see test_send_window): a send_activation retried after the customer
        # activated sets the row back to awaiting_activation. Only such rows may differ.
        assert set(f.states) == set(f.ids)
        regressed = {rid for rid, state in f.states.items() if state != m.Status.ACTIVATED}
        assert {activation_id(rid) for rid in regressed} <= set(f.sent_twice()), regressed
