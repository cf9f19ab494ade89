"""The SMTP relay goes down while customers ask for a password reset, and comes back."""

from __future__ import annotations

import asyncio
import random
import re
import time
from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from ebok.models import password_reset as m
from ebok.store.db import Store
from facade.client import EbokClient, password_reset_workflow_id
from tests.account.helpers import NEW_PASSWORD, an_account_with_password
from tests.conftest import make_settings, worker_for
from tests.faults.conftest import FaultLedger
from tests.faults.journeys import all_of, interruptions
from tests.faults.mailbox import CountingSmtpServer
from tests.mailbox import body

pytestmark = pytest.mark.asyncio(loop_scope="session")

CUSTOMERS = 10
_TOKEN = re.compile(rf"/{m.RESET_PAGE}\?token=([0-9a-f]{{64}})")


def link_id(reset_id: str) -> str:
    return f"<pw-reset.{reset_id}.1@ebok.example.pl>"


def changed_id(reset_id: str) -> str:
    return f"<pw-changed.{reset_id}.1@ebok.example.pl>"


async def every_send_failed_once(env: WorkflowEnvironment, workflow_ids: list[str]) -> None:
    waiting = set(workflow_ids)
    while waiting:
        for wid in list(waiting):
            pending = (await env.client.get_workflow_handle(wid).describe()).raw_description
            if any(
                a.activity_type.name == m.SEND_LINK and a.attempt > 1
                for a in pending.pending_activities
            ):
                waiting.discard(wid)
        if waiting:
            await asyncio.sleep(0.2)


async def test_relay_outage_every_reset_mail_once_when_it_is_back(
    env: WorkflowEnvironment,
    sqlite_store: Store,
    sqlite_url: str,
    relay: CountingSmtpServer,
    ledger: FaultLedger,
) -> None:
    """Injects: the relay stops; 10 customers ask for a password reset; it restarts on the
    same port 5-10 s later.

    Checks: every request is answered while the relay is down; every reset mail was first
    tried during the outage and is delivered exactly once after it; every link changes the
    password, and every "password changed" mail is delivered exactly once."""
    outage = random.Random().uniform(5, 10)
    settings = make_settings(sqlite_url, relay.port, execution_timeout=timedelta(minutes=5))
    ebok = EbokClient(env.client, sqlite_store, settings)
    accounts = [await an_account_with_password(sqlite_store) for _ in range(CUSTOMERS)]
    wids = [password_reset_workflow_id(account_id) for account_id, _, _ in accounts]
    async with worker_for(env.client, settings, sqlite_store):
        await relay.stop()
        down_at = time.monotonic()
        async with asyncio.timeout(30):
            await all_of(*(ebok.request_password_reset(email) for _, email, _ in accounts))
        async with asyncio.timeout(120):
            await every_send_failed_once(env, wids)
        await asyncio.sleep(max(0.0, down_at + outage - time.monotonic()))
        await relay.start()

        async def complete(account_id: str) -> tuple[str, m.ResetOutcome]:
            reset_id = (await ebok.password_reset_status(account_id)).reset_id
            found = _TOKEN.search(body(await relay.message(link_id(reset_id))))
            assert found is not None
            outcome = await ebok.confirm_password_reset(found.group(1), NEW_PASSWORD)
            await relay.message(changed_id(reset_id))
            return reset_id, outcome

        async with asyncio.timeout(60):
            done = await all_of(*(complete(account_id) for account_id, _, _ in accounts))
    lost = sum(outcome is not m.ResetOutcome.CHANGED for _, outcome in done)
    twice = sum(
        relay.count(mid) - 1
        for reset_id, _ in done
        for mid in (link_id(reset_id), changed_id(reset_id))
        if relay.count(mid) > 1
    )
    seen = await interruptions(env.client, wids)
    ledger.add(
        workflows=CUSTOMERS,
        faults=1,
        lost=lost,
        duplicated=twice,
        note=(
            f"relay outage {outage:.1f} s: {CUSTOMERS} password resets, {twice} mails "
            f"delivered twice, retried activities {dict(seen.retried or {})}"
        ),
    )
    assert lost == 0 and twice == 0
    assert seen.not_completed == 0
    assert seen.retried is not None and seen.retried[m.SEND_LINK] == CUSTOMERS
