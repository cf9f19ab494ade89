"""PostgreSQL unreachable from the worker while payments are being applied, then back."""

from __future__ import annotations

import asyncio
import random
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from temporalio.testing import WorkflowEnvironment

from adapters.payments.sandbox import SandboxPayments
from ebok.models import invoice as m
from ebok.store.db import Store
from entrypoints.webhooks.payments import run_webhooks
from facade.client import EbokClient
from tests.conftest import make_settings, worker_for
from tests.faults.conftest import FaultLedger, fault_seed
from tests.faults.journeys import interruptions
from tests.faults.mailbox import CountingSmtpServer
from tests.faults.payments import (
    SANDBOX_KEY,
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
from tests.faults.tcp_proxy import TcpProxy

pytestmark = pytest.mark.asyncio(loop_scope="session")

INVOICES = 60
SPREAD = 8.0  # seconds over which the payment messages are delivered


async def test_payments_survive_the_worker_losing_its_database(
    env: WorkflowEnvironment,
    postgres_database: str,
    pg_store: Store,
    pg_proxy: TcpProxy,
    relay: CountingSmtpServer,
    tmp_path: Path,
    ledger: FaultLedger,
) -> None:
    """Injects: the worker reaches PostgreSQL through a TCP proxy, which resets every open
    connection and every new one for 5-10 s, starting 1-3 s into the 8 s over which the
    payments of 60 issued invoices are delivered (notifications repeated and stale ones
    mixed in, statements loaded twice, through the facade and the webhook receiver: see
    test_payment_notifications). PostgreSQL only: SQLite is a file in the worker's process,
    with no connection to cut. Seeded: the seed is printed.

    Checks: payment activities met the outage and retried; everything completes after it;
    nothing is half-written — each payment row has its audit row, each invoice's state and
    credit match its rows, the workflow's status agrees, none lost or twice — and every
    paid confirmation is mailed once (the outage is shorter than delivery's patience for
    recording a sent mail)."""
    seed = fault_seed()
    rng = random.Random(seed)
    outage, block_at = rng.uniform(5, 10), rng.uniform(1, 3)
    proxy_url = (
        make_url(postgres_database)
        .set(host="127.0.0.1", port=pg_proxy.port)
        .render_as_string(hide_password=False)
    )
    settings = make_settings(
        proxy_url,
        relay.port,
        execution_timeout=timedelta(minutes=5),
        payments_sandbox_key=SANDBOX_KEY,
    )
    ebok = EbokClient(env.client, pg_store, settings)
    cases = await plan_cases(pg_store, rng, INVOICES)
    deliveries = Deliveries(rng, tmp_path)
    worker_store = Store.from_url(proxy_url)
    runner = await run_webhooks(ebok, "sandbox", "127.0.0.1", 0)
    host, port = runner.addresses[0][:2]
    try:
        async with worker_for(env.client, settings, worker_store):
            async with asyncio.timeout(60):
                await issue_all(ebok, cases)
                await delivered(relay, cases)
            await deliveries.prepare(cases, SandboxPayments.from_settings(settings), relay)
            t0 = time.monotonic()
            step = SPREAD / len(deliveries.items)

            async def pace(i: int) -> None:
                await asyncio.sleep(max(0.0, t0 + i * step - time.monotonic()))

            async def outage_now() -> float:
                await asyncio.sleep(block_at)
                pg_proxy.block()
                await asyncio.sleep(outage)
                pg_proxy.unblock()
                return time.monotonic()

            async with asyncio.timeout(SPREAD + outage + 30):
                async with asyncio.TaskGroup() as group:
                    window = group.create_task(outage_now())
                    group.create_task(
                        deliveries.deliver(
                            ebok, f"http://{host}:{port}/payments/sandbox/notify", pace=pace
                        )
                    )
            late = await settle(env.client, cases, within=60)
            recovered = time.monotonic() - window.result()
            books = await books_of(pg_store, env.client, cases)
    finally:
        await runner.cleanup()
        await worker_store.aclose()

    seen = await interruptions(env.client, [c.billed.workflow_id for c in cases])
    mails = mails_of(relay, cases)
    twice = {mid: n for mid, n in mails.items() if n > 1}
    ledger.add(
        workflows=len(cases),
        faults=1,
        lost=len(books.lost),
        duplicated=len(books.extra) + len(books.twice) + sum(n - 1 for n in twice.values()),
        note=(
            f"database outage during payments seed {seed}: {outage:.1f} s from {block_at:.1f} s,"
            f" {len(cases)} invoices, {sum(len(c.paid) for c in cases)} payments in"
            f" {len(deliveries.items)} messages; {pg_proxy.dropped} connections cut,"
            f" {pg_proxy.refused} refused; all settled {recovered:.1f} s after; retried"
            f" activities {dict(seen.retried or {})}; outcomes: {deliveries.summary()};"
            f" checked {books.rows_total} payment rows: lost {len(books.lost)}, booked and"
            f" reported {len(books.extra)}, twice {len(books.twice)}, invoices off"
            f" {len(books.wrong)}; mails twice {len(twice)}"
        ),
    )
    assert not late, f"seed {seed}: not settled: {late[:5]}"
    assert pg_proxy.refused > 0, "the worker never tried the database during the outage"
    assert seen.retried and seen.retried[m.APPLY_PAYMENT] > 0, dict(seen.retried or {})
    assert seen.not_completed == sum(not c.settled for c in cases)
    assert not books.twice and not books.lost and not books.extra, (seed, books.lost, books.extra)
    assert not books.wrong, f"seed {seed}: " + "\n".join(books.wrong[:10])
    assert not twice, {mid: relay.arrivals[mid] for mid in twice}
    for case in cases:
        if case.kind in ("online", "abandoned", "mixed"):
            assert mails.get(issued_id(case.number)) == 1
            assert (paid_id(case.number) in mails) == case.settled
