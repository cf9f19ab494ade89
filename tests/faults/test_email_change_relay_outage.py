"""The SMTP relay goes down just as customers confirm new addresses: the old addresses' undo
links wait for it, go out once it is back, and still work."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from ebok.models import email_change as m
from ebok.store.db import Store
from facade.client import EbokClient, email_change_workflow_id
from tests.conftest import make_settings, worker_for
from tests.factories import an_account
from tests.faults.conftest import FaultLedger
from tests.faults.journeys import all_of, interruptions
from tests.faults.mailbox import DOMAIN, CountingSmtpServer
from tests.mailbox import link_token

pytestmark = pytest.mark.asyncio(loop_scope="session")

CUSTOMERS = 10


def mail_id(kind: str, change_id: str) -> str:
    return f"<{kind}.{change_id}.1@{DOMAIN}>"


async def undo_mail_failed(env: WorkflowEnvironment, workflow_id: str) -> None:
    handle = env.client.get_workflow_handle(workflow_id)
    while True:
        pending = (await handle.describe()).raw_description.pending_activities
        if any(a.activity_type.name == m.SEND_UNDO_LINK and a.attempt > 1 for a in pending):
            return
        await asyncio.sleep(0.2)


async def test_relay_outage_undo_links_delivered_once_when_it_is_back(
    env: WorkflowEnvironment,
    sqlite_store: Store,
    sqlite_url: str,
    relay: CountingSmtpServer,
    ledger: FaultLedger,
) -> None:
    """Injects: the relay stops after every confirmation link has arrived; the customers then
    confirm (the change itself needs no mail) and the relay restarts on the same port 3-6 s
    later, once every undo mail has failed at least once.

    Checks: every undo mail is delivered exactly once after the restart, its link undoes the
    change (old address back, account locked), and each locked notice goes out once."""
    outage = random.Random().uniform(3, 6)
    settings = make_settings(sqlite_url, relay.port, execution_timeout=timedelta(minutes=5))
    ebok = EbokClient(env.client, sqlite_store, settings)
    accounts = [await an_account(sqlite_store) for _ in range(CUSTOMERS)]
    changes: dict[str, str] = {}
    async with worker_for(env.client, settings, sqlite_store):
        async with asyncio.timeout(60):
            for account, _ in accounts:
                await ebok.request_email_change(account, f"nowy.{uuid.uuid4().hex[:8]}@example.pl")
                changes[account] = (await ebok.email_change_status(account)).change_id
            confirms = [
                await relay.message(mail_id("email-change", cid)) for cid in changes.values()
            ]
        await relay.stop()
        down_at = time.monotonic()
        async with asyncio.timeout(60):
            outcomes = await all_of(
                *(ebok.confirm_email_change(link_token(c, m.CONFIRM_PAGE)) for c in confirms)
            )
            assert set(outcomes) == {m.ConfirmOutcome.CHANGED}
            await all_of(*(undo_mail_failed(env, email_change_workflow_id(a)) for a in changes))
        await asyncio.sleep(max(0.0, down_at + outage - time.monotonic()))
        await relay.start()

        async def undo(account: str) -> m.UndoOutcome:
            told = await relay.message(mail_id("email-undo", changes[account]))
            return await ebok.undo_email_change(link_token(told, m.UNDO_PAGE))

        async with asyncio.timeout(90):
            undone = await all_of(*(undo(a) for a in changes))
            await all_of(*(relay.message(mail_id("email-locked", c)) for c in changes.values()))
        for account in changes:
            await ebok.unlock_account(account, "anna.b", "checked after the outage")
        async with asyncio.timeout(30):
            await all_of(
                *(env.client.get_workflow_handle(email_change_workflow_id(a)).result()
                  for a in changes)
            )  # fmt: skip

    async with sqlite_store.begin() as uow:
        restored = [await uow.accounts.get(a) for a, _ in accounts]
    lost = sum(o is not m.UndoOutcome.UNDONE for o in undone)
    twice = sum(n - 1 for n in relay.duplicates().values())
    seen = await interruptions(env.client, [email_change_workflow_id(a) for a in changes])
    ledger.add(
        workflows=CUSTOMERS,
        faults=1,
        lost=lost,
        duplicated=twice,
        note=f"relay outage {outage:.1f} s under {CUSTOMERS} undo mails, {twice} twice",
    )
    assert lost == 0 and twice == 0
    assert [(r.email, r.status) for r in restored if r] == [(e, "active") for _, e in accounts]
    assert seen.not_completed == 0
    assert seen.retried is not None and seen.retried[m.SEND_UNDO_LINK] == CUSTOMERS
