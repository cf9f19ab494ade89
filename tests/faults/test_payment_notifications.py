"""Payment notifications repeated and out of order, and bank statements loaded twice, for a
few hundred invoices: every payment booked exactly once."""

from __future__ import annotations

import asyncio
import random
import time
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from adapters.payments.sandbox import SandboxPayments
from ebok.store.db import Store
from entrypoints.webhooks.payments import run_webhooks
from facade.client import EbokClient
from tests.conftest import make_settings, worker_for
from tests.faults.conftest import FaultLedger, fault_seed
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

pytestmark = pytest.mark.asyncio(loop_scope="session")

INVOICES = 120  # per database


async def test_repeated_and_reordered_payments_are_booked_once(
    env: WorkflowEnvironment,
    db_kind: str,
    db_url: str,
    store: Store,
    relay: CountingSmtpServer,
    tmp_path: Path,
    ledger: FaultLedger,
) -> None:
    """Injects: for 120 invoices (about 40% e-invoices paid online, the rest paper invoices
    paid by transfer), each provider notification delivered 1-5 times; stale statuses (the
    NEW of the payment's creation, and CANCELED and PENDING signed by the provider after it
    completed) mixed in; partial transfers in bank statements each loaded twice, the second
    copy in another row order; everything shuffled together and delivered six at a time,
    each notification through the facade or over HTTP to the webhook receiver at random.
    Kinds: paid online; online abandoned (CANCELED) then paid by transfer; part by transfer
    and all online (a credit); two or three transfers adding up exactly, over (a credit) or
    short (stays open). Seeded: the seed is printed.

    Checks: every payment is booked exactly once — a row under its (source, reference), or
    reported back as not applied, never both, never neither; no (source, reference) twice;
    per invoice the rows are exactly the booked payments, the store's state is paid iff they
    cover the amount, the credit row is exactly the overpayment, one payment audit row per
    payment; the workflow's status agrees; every e-invoice and paid confirmation is mailed
    once."""
    seed = fault_seed()
    rng = random.Random(seed)
    started = time.monotonic()
    settings = make_settings(
        db_url,
        relay.port,
        execution_timeout=timedelta(minutes=10),
        payments_sandbox_key=SANDBOX_KEY,
    )
    ebok = EbokClient(env.client, store, settings)
    sandbox = SandboxPayments.from_settings(settings)
    cases = await plan_cases(store, rng, INVOICES)
    deliveries = Deliveries(rng, tmp_path)
    runner = await run_webhooks(ebok, "sandbox", "127.0.0.1", 0)
    host, port = runner.addresses[0][:2]
    try:
        async with worker_for(env.client, settings, store):
            # Generous bounds: the whole fault suite shares two loaded cores.
            async with asyncio.timeout(90):
                await issue_all(ebok, cases)
                await delivered(relay, cases)
            issued = time.monotonic() - started
            async with asyncio.timeout(60):
                await deliveries.prepare(cases, sandbox, relay)
                await deliveries.deliver(ebok, f"http://{host}:{port}/payments/sandbox/notify")
            late = await settle(env.client, cases, within=40)
            books = await books_of(store, env.client, cases)
    finally:
        await runner.cleanup()
    seconds = time.monotonic() - started
    mails = mails_of(relay, cases)
    twice = {mid: n for mid, n in mails.items() if n > 1}
    kinds = {k: sum(c.kind == k for c in cases) for k in dict.fromkeys(c.kind for c in cases)}
    ledger.add(
        workflows=len(cases),
        faults=deliveries.copies + deliveries.stale_after + deliveries.statements // 2,
        lost=len(books.lost),
        duplicated=len(books.extra) + len(books.twice) + sum(n - 1 for n in twice.values()),
        note=(
            f"payment notifications [{db_kind}] seed {seed}: {len(cases)} invoices {kinds},"
            f" {sum(len(c.paid) for c in cases)} payments; injected {deliveries.copies} extra"
            f" notification copies, {deliveries.stale_after} stale statuses after COMPLETED,"
            f" {deliveries.statements // 2} statements loaded twice, {deliveries.via_http} via"
            f" HTTP; outcomes: {deliveries.summary()}; checked {books.rows_total} payment rows:"
            f" lost {len(books.lost)}, booked and reported {len(books.extra)}, twice"
            f" {len(books.twice)}, invoices off {len(books.wrong)}, mails twice {len(twice)};"
            f" issued in {issued:.0f} s, all done in {seconds:.0f} s"
        ),
    )
    assert not late, f"seed {seed}: not settled in time: {late[:5]}"
    assert not books.twice and not books.lost and not books.extra, (seed, books.lost, books.extra)
    assert not books.wrong, f"seed {seed}: " + "\n".join(books.wrong[:10])
    assert deliveries.stale_after > 0 and deliveries.copies > 0
    assert any(c.credit for c in cases) and any(not c.settled for c in cases)
    assert not twice, twice
    for case in cases:
        if case.kind in ("online", "abandoned", "mixed"):
            assert mails.get(issued_id(case.number)) == 1
            assert (paid_id(case.number) in mails) == case.settled
