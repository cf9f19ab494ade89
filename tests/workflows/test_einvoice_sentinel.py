"""The e-mail address and the confirmation token never reach Temporal: not the workflow id,
search attributes, history or logs. Checked on the raw history, with no payload codec."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from ebok.models import einvoice as m
from ebok.settings import Settings
from ebok.store.db import Store
from entrypoints.devsmtp import DevSmtpServer
from facade.client import EbokClient, einvoice_workflow_id
from tests.conftest import worker_for
from tests.factories import a_linked_account
from tests.mailbox import link_token
from tests.sentinel import assert_unseen, visible_to_temporal, watch_logs

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_no_email_or_token_in_temporal(
    env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok_for: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    watch_logs(caplog)
    ebok: EbokClient = ebok_for(env.client)
    account, email, partner = await a_linked_account(store)
    async with worker_for(env.client, settings, store):
        await ebok.request_einvoice(account, partner.number, "2026-01")
        token = link_token((await smtpd.wait_for(1))[0], m.CONFIRM_PAGE)
        assert await ebok.confirm_einvoice(token) is m.ConfirmOutcome.ACTIVE
        await ebok.withdraw_einvoice(partner.number, "staff", "anna.b")
        handle = env.client.get_workflow_handle(einvoice_workflow_id(partner.number))
        await handle.result()
        await smtpd.wait_for(3)
        raw, visible = await visible_to_temporal(handle, caplog)

    assert_unseen(visible, {"token": token, "e-mail": email, "mailbox": email.split("@")[0]})
    # The check would catch a leak: the partner number and account id are in the same history.
    assert partner.number.encode() in raw and account.encode() in raw
