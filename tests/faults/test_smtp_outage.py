"""The SMTP relay goes down while customers register, and comes back on the same port."""

from __future__ import annotations

import asyncio
import random
import time
from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from ebok.models import registration as m
from ebok.store.db import Store
from facade.client import EbokClient, registration_workflow_id
from tests.conftest import make_settings, worker_for
from tests.faults.conftest import FaultLedger
from tests.faults.journeys import (
    activate_by_mail,
    all_of,
    finished,
    interruptions,
    step_one,
    step_two,
)
from tests.faults.mailbox import CountingSmtpServer, activation_id, welcome_id

pytestmark = pytest.mark.asyncio(loop_scope="session")

CUSTOMERS = 30


async def every_send_failed_once(env: WorkflowEnvironment, workflow_ids: list[str]) -> None:
    """Until each workflow's activation mail is pending with at least one failed attempt."""
    waiting = set(workflow_ids)
    while waiting:
        for wid in list(waiting):
            pending = (await env.client.get_workflow_handle(wid).describe()).raw_description
            if any(
                a.activity_type.name == m.SEND_ACTIVATION and a.attempt > 1
                for a in pending.pending_activities
            ):
                waiting.discard(wid)
        if waiting:
            await asyncio.sleep(0.2)


async def test_relay_outage_every_mail_delivered_once_when_it_is_back(
    env: WorkflowEnvironment,
    sqlite_store: Store,
    sqlite_url: str,
    relay: CountingSmtpServer,
    ledger: FaultLedger,
) -> None:
    """Injects: the relay (DevSmtpServer) stops, dropping its connections, after one warm-up
    registration has left idle pooled connections to it; 30 customers then complete steps 1
    and 2; the relay restarts on the same port 5-10 s after it went down.

    Checks: no facade call fails; every activation mail was first tried during the outage
    (attempt > 1 in its history) and is delivered exactly once after the restart; every
    customer activates with it, every workflow completes as activated, and every welcome
    mail is delivered exactly once."""
    rng = random.Random()
    outage = rng.uniform(5, 10)
    settings = make_settings(sqlite_url, relay.port, execution_timeout=timedelta(minutes=5))
    ebok = EbokClient(env.client, sqlite_store, settings)
    async with worker_for(env.client, settings, sqlite_store):
        async with asyncio.timeout(30):
            warm = await step_one(ebok, "warm")
            await step_two(ebok, warm)
            assert await activate_by_mail(ebok, relay, warm) is m.ActivationOutcome.ACTIVATED
            await finished(env.client, relay, warm)

        await relay.stop()
        down_at = time.monotonic()
        async with asyncio.timeout(30):
            ids = await all_of(*(step_one(ebok, "outage") for _ in range(CUSTOMERS)))
            await all_of(*(step_two(ebok, rid) for rid in ids))
        assert all(relay.count(activation_id(rid)) == 0 for rid in ids)
        # The relay comes back once the outage has lasted its time *and* every activation
        # mail has met it (a loaded machine may reach a send only after the chosen time).
        async with asyncio.timeout(120):
            await every_send_failed_once(env, [registration_workflow_id(rid) for rid in ids])
        await asyncio.sleep(max(0.0, down_at + outage - time.monotonic()))
        await relay.start()
        back_at = time.monotonic()

        async def complete(rid: str) -> m.RegistrationStatus:
            assert await activate_by_mail(ebok, relay, rid) is m.ActivationOutcome.ACTIVATED
            return await finished(env.client, relay, rid)

        # Retries back off 2 s, 4 s, 8 s, 16 s from the first failure: all go out within ~30 s.
        async with asyncio.timeout(60):
            results = await all_of(*(complete(rid) for rid in ids))
        recovered = time.monotonic() - back_at

    lost = sum(r.status is not m.Status.ACTIVATED for r in results)
    sent_twice = sum(
        relay.count(mid) - 1
        for rid in ids
        for mid in (activation_id(rid), welcome_id(rid))
        if relay.count(mid) > 1
    )
    seen = await interruptions(env.client, [registration_workflow_id(rid) for rid in ids])
    ledger.add(
        workflows=CUSTOMERS + 1,
        faults=1,
        lost=lost,
        duplicated=sent_twice,
        note=(
            f"relay outage {outage:.1f} s: {CUSTOMERS} registrations, all mails out "
            f"{recovered:.1f} s after the restart, {sent_twice} delivered twice, "
            f"retried activities {dict(seen.retried or {})}"
        ),
    )
    assert lost == 0
    assert [relay.count(activation_id(rid)) for rid in ids] == [1] * CUSTOMERS
    assert [relay.count(welcome_id(rid)) for rid in ids] == [1] * CUSTOMERS
    assert seen.not_completed == 0
    # Every activation mail met the outage: its first attempt failed.
    assert seen.retried is not None and seen.retried[m.SEND_ACTIVATION] == CUSTOMERS
    assert relay.count(activation_id(warm)) == relay.count(welcome_id(warm)) == 1
