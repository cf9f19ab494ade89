"""Registration clocks on the time-skipping server: expiry, purge, resend cooldown and cap.

Real SMTP into aiosmtpd, real store (SQLite and PostgreSQL); days pass in milliseconds.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from ebok.errors import LimitReached, RateLimited, WrongState
from ebok.models import registration as m
from ebok.settings import Settings
from ebok.store.db import Store
from entrypoints.devsmtp import DevSmtpServer
from facade.client import EbokClient, registration_workflow_id
from tests.conftest import worker_for
from tests.mailbox import activation_token
from tests.timeskip import outcome

pytestmark = pytest.mark.asyncio(loop_scope="session")

PASSWORD = "Zielona-Łąka-2026!"


async def start(ebok: EbokClient, with_password: bool = True) -> str:
    tag = uuid.uuid4().hex[:10]
    registered = await ebok.register(f"t.{tag}@example.pl", f"t.{tag}")
    if with_password:
        await ebok.set_credentials(registered.registration_id, PASSWORD, "2026-01", True)
    return registered.registration_id


async def result(env: WorkflowEnvironment, rid: str) -> m.RegistrationStatus:
    return await outcome(env, registration_workflow_id(rid), m.RegistrationStatus)


async def personal_data(store: Store, rid: str) -> tuple[str | None, str | None]:
    async with store.begin() as uow:
        reg = await uow.registrations.get(rid)
    assert reg is not None
    return reg.email, reg.password_hash


async def test_link_expires_after_72h_then_data_is_purged_after_grace(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok_for: Any,
) -> None:
    ebok: EbokClient = ebok_for(skipping_env.client)
    async with worker_for(skipping_env.client, settings, store):
        rid = await start(ebok)
        token = activation_token((await smtpd.wait_for(1))[0])

        await skipping_env.sleep(timedelta(hours=71, minutes=59))
        assert (await ebok.registration_status(rid)).status is m.Status.AWAITING_ACTIVATION

        await skipping_env.sleep(timedelta(minutes=2))
        status = await ebok.registration_status(rid)
        assert status.status is m.Status.EXPIRED and not status.purged
        assert await ebok.activate(token) is m.ActivationOutcome.EXPIRED
        assert (await personal_data(store, rid))[0] is not None  # kept during the grace

        await skipping_env.sleep(timedelta(days=7, minutes=1))
        final = await result(skipping_env, rid)
        assert final.status is m.Status.EXPIRED and final.purged
        assert await personal_data(store, rid) == (None, None)
        assert await ebok.activate(token) is m.ActivationOutcome.INVALID  # token rows gone
    assert len(smtpd.messages) == 1


async def test_step_two_never_done_expires(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok_for: Any,
) -> None:
    ebok: EbokClient = ebok_for(skipping_env.client)
    async with worker_for(skipping_env.client, settings, store):
        rid = await start(ebok, with_password=False)
        await skipping_env.sleep(settings.registration_password_timeout + timedelta(minutes=1))
        assert (await ebok.registration_status(rid)).status is m.Status.EXPIRED
        with pytest.raises(WrongState):
            await ebok.resend(rid)  # nothing was ever sent
        await skipping_env.sleep(settings.purge_grace + timedelta(minutes=1))
        final = await result(skipping_env, rid)
        assert final.status is m.Status.EXPIRED and final.purged
    assert smtpd.messages == []


async def test_resend_cooldown_cap_and_old_link_stops_working(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok_for: Any,
) -> None:
    ebok: EbokClient = ebok_for(
        skipping_env.client, settings.model_copy(update={"resend_limit": 2})
    )
    async with worker_for(skipping_env.client, settings, store):
        rid = await start(ebok)
        first = activation_token((await smtpd.wait_for(1))[0])

        with pytest.raises(RateLimited) as limited:
            await ebok.resend(rid)
        status = await ebok.registration_status(rid)
        assert limited.value.retry_at == status.next_resend_at

        await skipping_env.sleep(settings.resend_cooldown + timedelta(seconds=1))
        pending = await ebok.resend(rid)
        assert pending.link_number == 2 and pending.resends_left == 1
        second_mail = (await smtpd.wait_for(2))[1]
        assert second_mail["Message-ID"].endswith(f".{rid}.2@ebok.example.pl>")
        second = activation_token(second_mail)
        assert second != first

        await skipping_env.sleep(settings.resend_cooldown + timedelta(seconds=1))
        await ebok.resend(rid, requested_by="staff")
        third = activation_token((await smtpd.wait_for(3))[2])
        await skipping_env.sleep(settings.resend_cooldown + timedelta(seconds=1))
        with pytest.raises(LimitReached):
            await ebok.resend(rid)

        assert await ebok.activate(first) is m.ActivationOutcome.INVALID
        assert await ebok.activate(second) is m.ActivationOutcome.INVALID
        assert await ebok.activate(third) is m.ActivationOutcome.ACTIVATED
        assert (await result(skipping_env, rid)).status is m.Status.ACTIVATED


async def test_staff_resend_during_grace_reopens(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok_for: Any,
) -> None:
    ebok: EbokClient = ebok_for(skipping_env.client)
    async with worker_for(skipping_env.client, settings, store):
        rid = await start(ebok)
        await smtpd.wait_for(1)
        await skipping_env.sleep(settings.activation_ttl + timedelta(hours=1))
        assert (await ebok.registration_status(rid)).status is m.Status.EXPIRED

        pending = await ebok.resend(rid, requested_by="staff")
        assert pending.link_number == 2
        token = activation_token((await smtpd.wait_for(2))[1])
        assert (await ebok.registration_status(rid)).status is m.Status.AWAITING_ACTIVATION
        assert await ebok.activate(token) is m.ActivationOutcome.ACTIVATED
        assert (await result(skipping_env, rid)).status is m.Status.ACTIVATED


async def test_cancel_purges_at_once(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok_for: Any,
) -> None:
    ebok: EbokClient = ebok_for(skipping_env.client)
    async with worker_for(skipping_env.client, settings, store):
        rid = await start(ebok)
        token = activation_token((await smtpd.wait_for(1))[0])
        status = await ebok.cancel(rid, reason="customer asked on the phone")
        assert status.status is m.Status.CANCELLED
        final = await result(skipping_env, rid)
        assert final.purged and final.closed_reason == "customer asked on the phone"
        assert await personal_data(store, rid) == (None, None)
        assert await ebok.activate(token) is m.ActivationOutcome.INVALID
