"""E-mail change deadlines on the time-skipping server: the 24-hour confirmation link and the
7-day undo window, each a minute before and a minute after. Real SMTP, real store."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from ebok.models import email_change as m
from ebok.settings import Settings
from ebok.store.db import Store
from entrypoints.devsmtp import DevSmtpServer
from facade.client import EbokClient, email_change_workflow_id
from tests.conftest import worker_for
from tests.factories import an_account
from tests.mailbox import addressed_to, link_token
from tests.timeskip import outcome

pytestmark = pytest.mark.asyncio(loop_scope="session")

MINUTE = timedelta(minutes=1)


def a_new_address() -> str:
    return f"nowy.{uuid.uuid4().hex[:10]}@example.pl"


async def test_the_link_expires_after_24h_and_nothing_changes(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok_for: Any,
) -> None:
    ebok: EbokClient = ebok_for(skipping_env.client)
    account, old = await an_account(store)
    async with worker_for(skipping_env.client, settings, store):
        pending = await ebok.request_email_change(account, a_new_address())
        assert pending.next_resend_at is not None  # both counted from the request
        lifetime = pending.expires_at - pending.next_resend_at
        assert lifetime == timedelta(hours=24) - settings.email_change_resend_cooldown
        token = link_token((await smtpd.wait_for(1))[0], m.CONFIRM_PAGE)
        await skipping_env.sleep(timedelta(hours=24) - MINUTE)
        assert (await ebok.email_change_status(account)).state is m.State.AWAITING_CONFIRMATION

        await skipping_env.sleep(2 * MINUTE)
        wid = email_change_workflow_id(account)
        closed = await outcome(skipping_env, wid, m.EmailChangeStatus)
        assert closed.state is m.State.EXPIRED and closed.changed_at is None
        assert await ebok.confirm_email_change(token) is m.ConfirmOutcome.EXPIRED
    profile = await ebok.profile(account)
    assert (profile.email, profile.status) == (old, "active")
    async with store.begin() as uow:
        (change,) = await uow.email_changes.of_account(account)
    assert change.state == "expired" and change.changed_at is None


async def _changed(
    env: WorkflowEnvironment, ebok: EbokClient, smtpd: DevSmtpServer, account: str, old: str
) -> tuple[str, str]:
    """Request and confirm a change; the undo token mailed to the old address."""
    new = a_new_address()
    await ebok.request_email_change(account, new)
    token = link_token((await smtpd.wait_for(1))[0], m.CONFIRM_PAGE)
    assert await ebok.confirm_email_change(token) is m.ConfirmOutcome.CHANGED
    (told,) = addressed_to(await smtpd.wait_for(2), old)
    return new, link_token(told, m.UNDO_PAGE)


async def test_undo_on_the_last_minute_of_day_7_restores_and_locks(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok_for: Any,
) -> None:
    ebok: EbokClient = ebok_for(skipping_env.client)
    account, old = await an_account(store)
    async with worker_for(skipping_env.client, settings, store):
        new, undo = await _changed(skipping_env, ebok, smtpd, account, old)
        changed = await ebok.email_change_status(account)
        assert changed.undo_until == changed.changed_at + timedelta(days=7)  # type: ignore[operator]
        await skipping_env.sleep(timedelta(days=7) - MINUTE)
        assert (await ebok.profile(account)).email == new
        assert await ebok.undo_email_change(undo) is m.UndoOutcome.UNDONE
        profile = await ebok.profile(account)
        assert (profile.email, profile.status) == (old, "locked")
        await smtpd.wait_for(4)  # the customer's and the back office's notices
        # Nothing ends a locked account's review but staff: a week later it still waits.
        await skipping_env.sleep(timedelta(days=7))
        assert (await ebok.email_change_status(account)).state is m.State.LOCKED
        await ebok.unlock_account(account, "anna.b", "checked")
        done = await outcome(skipping_env, email_change_workflow_id(account), m.EmailChangeStatus)
    assert done.state is m.State.UNLOCKED


async def test_undo_on_day_8_is_refused_and_the_change_stays(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok_for: Any,
) -> None:
    ebok: EbokClient = ebok_for(skipping_env.client)
    account, old = await an_account(store)
    async with worker_for(skipping_env.client, settings, store):
        new, undo = await _changed(skipping_env, ebok, smtpd, account, old)
        await skipping_env.sleep(timedelta(days=7) + MINUTE)
        done = await outcome(skipping_env, email_change_workflow_id(account), m.EmailChangeStatus)
        assert done.state is m.State.DONE
        assert await ebok.undo_email_change(undo) is m.UndoOutcome.EXPIRED
        # The window is over: a new change may start.
        await ebok.request_email_change(account, a_new_address())
        await smtpd.wait_for(3)
    profile = await ebok.profile(account)
    assert (profile.email, profile.status) == (new, "active")
