"""Password-reset links on the time-skipping server: the 24-hour expiry, the cooldown, the
lock signal beside a pending link. Real SMTP into aiosmtpd, real store (SQLite, PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from ebok.errors import RateLimited
from ebok.models import password_reset as m
from ebok.settings import Settings
from ebok.store.db import Store
from entrypoints.devsmtp import DevSmtpServer
from facade.client import EbokClient, password_reset_workflow_id
from tests.account.helpers import NEW_PASSWORD, an_account_with_password
from tests.conftest import worker_for
from tests.mailbox import addressed_to, link_token
from tests.timeskip import outcome

pytestmark = pytest.mark.asyncio(loop_scope="session")


def token_of(mail: Any) -> str:
    return link_token(mail, m.RESET_PAGE)


async def test_link_works_for_24_hours_then_expires_and_a_new_cycle_starts(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok_for: Any,
) -> None:
    ebok: EbokClient = ebok_for(skipping_env.client)
    account_id, email, _ = await an_account_with_password(store)
    async with worker_for(skipping_env.client, settings, store):
        await ebok.request_password_reset(email)
        token = token_of((await smtpd.wait_for(1))[0])
        await skipping_env.sleep(timedelta(hours=23, minutes=59))
        status = await ebok.password_reset_status(account_id)
        assert status.state is m.State.AWAITING_NEW_PASSWORD

        await skipping_env.sleep(timedelta(minutes=2))
        closed = await outcome(
            skipping_env, password_reset_workflow_id(account_id), m.PasswordResetStatus
        )
        assert closed.state is m.State.EXPIRED and closed.detail == "reset link expired"
        assert await ebok.confirm_password_reset(token, NEW_PASSWORD) is m.ResetOutcome.EXPIRED
        assert await ebok.session_valid(account_id, 1)  # nothing changed

        await ebok.request_password_reset(email)  # a new cycle, a new link
        fresh = token_of((await smtpd.wait_for(2))[1])
        assert fresh != token
        assert await ebok.confirm_password_reset(fresh, NEW_PASSWORD) is m.ResetOutcome.CHANGED
        await smtpd.wait_for(3)
    assert await ebok.session_valid(account_id, 2)


async def test_resend_after_the_cooldown_replaces_the_link(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok_for: Any,
) -> None:
    ebok: EbokClient = ebok_for(skipping_env.client)
    account_id, email, _ = await an_account_with_password(store)
    async with worker_for(skipping_env.client, settings, store):
        await ebok.request_password_reset(email)
        old = token_of((await smtpd.wait_for(1))[0])
        with pytest.raises(RateLimited):
            await ebok.resend_password_reset(account_id)
        await skipping_env.sleep(settings.password_reset_resend_cooldown)
        pending = await ebok.resend_password_reset(account_id)
        assert pending.link_number == 2
        new = token_of((await smtpd.wait_for(2))[1])
        assert await ebok.confirm_password_reset(old, NEW_PASSWORD) is m.ResetOutcome.INVALID
        assert await ebok.confirm_password_reset(new, NEW_PASSWORD) is m.ResetOutcome.CHANGED
        await smtpd.wait_for(3)


async def test_a_lock_beside_a_pending_link_mails_nothing_more(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok_for: Any,
) -> None:
    ebok: EbokClient = ebok_for(skipping_env.client)
    account_id, email, login = await an_account_with_password(store)
    async with worker_for(skipping_env.client, settings, store):
        await ebok.request_password_reset(email)
        await smtpd.wait_for(1)
        for _ in range(settings.sign_in_lock_after):
            await ebok.sign_in(login, "wrong-password", "192.0.2.10")
        handle = skipping_env.client.get_workflow_handle(password_reset_workflow_id(account_id))
        await skipping_env.sleep(timedelta(minutes=5))
        status = await ebok.password_reset_status(account_id)
        assert status.reason == "customer" and status.resends_left == 3
        history = await handle.fetch_history()
        signals = [
            e.workflow_execution_signaled_event_attributes.signal_name
            for e in history.events
            if e.HasField("workflow_execution_signaled_event_attributes")
        ]
        assert signals == ["locked"]  # it arrived, and was answered by the link already out
        await asyncio.sleep(0.3)
    assert len(addressed_to(smtpd.messages, email)) == 1
