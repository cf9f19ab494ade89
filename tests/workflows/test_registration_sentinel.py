"""Nothing secret or personal reaches Temporal: not the ids, search attributes, history or logs.

Checked on the raw history, as stored by the server, with no payload codec in the way."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from ebok.models import registration as m
from ebok.settings import Settings
from ebok.store.db import Store
from entrypoints.devsmtp import DevSmtpServer
from facade.client import EbokClient, registration_workflow_id
from tests.conftest import worker_for
from tests.mailbox import activation_token
from tests.sentinel import assert_unseen, visible_to_temporal, watch_logs

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_no_password_email_login_or_token_in_temporal(
    env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok_for: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    watch_logs(caplog)
    tag = uuid.uuid4().hex[:12]
    email, login, password = f"Sentinel.{tag}@Example.pl", f"sentinel{tag}", f"Pw-{tag}-secret"
    ebok: EbokClient = ebok_for(env.client)
    async with worker_for(env.client, settings, store):
        registered = await ebok.register(email, login)
        rid = registered.registration_id
        await ebok.set_credentials(rid, password, "2026-01", True)
        await smtpd.wait_for(1)
        token = activation_token(smtpd.messages[0])
        assert await ebok.activate(token) is m.ActivationOutcome.ACTIVATED
        await smtpd.wait_for(2)
        handle = env.client.get_workflow_handle(registration_workflow_id(rid))
        await handle.result()
        raw, visible = await visible_to_temporal(handle, caplog)

    async with store.begin() as uow:
        stored = await uow.accounts.by_email(email)
        account_hash = await uow.accounts.password_hash(login)
    assert stored is not None and account_hash is not None

    secrets = {
        "password": password,
        "password hash": account_hash,
        "token": token,
        "e-mail": email,
        "e-mail lower-cased": email.lower(),
        "login": login,
    }
    assert_unseen(visible, secrets)
    # The test would catch a leak: the registration id is in the same history.
    assert rid.encode() in raw
