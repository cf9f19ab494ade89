"""E-invoice confirmation links on the time-skipping server: 72 h expiry, resend cooldown and
cap. Real SMTP into aiosmtpd, real store (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from ebok.errors import LimitReached, RateLimited
from ebok.models import einvoice as m
from ebok.settings import Settings
from ebok.store.db import Store
from entrypoints.devsmtp import DevSmtpServer
from facade.client import EbokClient, einvoice_workflow_id
from tests.conftest import make_settings, worker_for
from tests.factories import a_linked_account
from tests.mailbox import link_token
from tests.timeskip import outcome

pytestmark = pytest.mark.asyncio(loop_scope="session")

TERMS = "2026-01"


def token_of(mail: Any) -> str:
    return link_token(mail, m.CONFIRM_PAGE)


async def test_link_expires_after_72h_and_is_refused_then(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok_for: Any,
) -> None:
    ebok: EbokClient = ebok_for(skipping_env.client)
    account, _, partner = await a_linked_account(store)
    async with worker_for(skipping_env.client, settings, store):
        await ebok.request_einvoice(account, partner.number, TERMS)
        token = token_of((await smtpd.wait_for(1))[0])

        await skipping_env.sleep(timedelta(hours=71, minutes=59))
        status = await ebok.einvoice_status(partner.number)
        assert status.state is m.State.AWAITING_CONFIRMATION

        await skipping_env.sleep(timedelta(minutes=2))
        closed = await outcome(skipping_env, einvoice_workflow_id(partner.number), m.EInvoiceStatus)
        assert closed.state is m.State.EXPIRED and closed.consent_id is None
        assert await ebok.confirm_einvoice(token) is m.ConfirmOutcome.EXPIRED
        async with store.begin() as uow:
            assert await uow.consents.history(partner.number) == []

        # Asking again starts a new cycle with a new link.
        again = await ebok.request_einvoice(account, partner.number, TERMS)
        fresh = token_of((await smtpd.wait_for(2))[1])
        assert again.link_number == 1 and fresh != token
        assert await ebok.confirm_einvoice(fresh) is m.ConfirmOutcome.ACTIVE
        subjects = [mail["Subject"] for mail in await smtpd.wait_for(3)]
    assert subjects[2] == "E-faktura aktywna" and len(subjects) == 3


async def test_resend_waits_out_the_cooldown_and_replaces_the_link(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok_for: Any,
) -> None:
    ebok: EbokClient = ebok_for(skipping_env.client)
    account, _, partner = await a_linked_account(store)
    async with worker_for(skipping_env.client, settings, store):
        first = await ebok.request_einvoice(account, partner.number, TERMS)
        old = token_of((await smtpd.wait_for(1))[0])
        with pytest.raises(RateLimited) as too_soon:
            await ebok.resend_einvoice(partner.number)
        assert too_soon.value.retry_at == first.next_resend_at
        with pytest.raises(RateLimited):  # asking again is a resend, under the same limit
            await ebok.request_einvoice(account, partner.number, TERMS)

        await skipping_env.sleep(settings.einvoice_resend_cooldown + timedelta(seconds=1))
        second = await ebok.resend_einvoice(partner.number)
        assert second.link_number == 2 and second.expires_at > first.expires_at
        new = token_of((await smtpd.wait_for(2))[1])
        assert await ebok.confirm_einvoice(old) is m.ConfirmOutcome.INVALID  # replaced
        assert await ebok.confirm_einvoice(new) is m.ConfirmOutcome.ACTIVE
        assert await ebok.confirm_einvoice(new) is m.ConfirmOutcome.ALREADY_USED
        status = await ebok.einvoice_status(partner.number)
        assert status.state is m.State.ACTIVE and status.links_sent == 2


async def test_resends_are_capped(
    skipping_env: WorkflowEnvironment,
    db_url: str,
    store: Store,
    smtpd: DevSmtpServer,
    ebok_for: Any,
) -> None:
    settings = make_settings(db_url, smtpd.port, einvoice_resend_limit=1)
    ebok: EbokClient = ebok_for(skipping_env.client, settings)
    account, _, partner = await a_linked_account(store)
    async with worker_for(skipping_env.client, settings, store):
        await ebok.request_einvoice(account, partner.number, TERMS)
        await skipping_env.sleep(settings.einvoice_resend_cooldown + timedelta(seconds=1))
        last = await ebok.resend_einvoice(partner.number, "staff")
        assert last.resends_left == 0 and last.next_resend_at is None
        await skipping_env.sleep(settings.einvoice_resend_cooldown + timedelta(seconds=1))
        with pytest.raises(LimitReached):
            await ebok.resend_einvoice(partner.number)
        await smtpd.wait_for(2)
    assert len(smtpd.messages) == 2
