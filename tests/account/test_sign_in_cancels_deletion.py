"""Signing in cancels a pending account deletion: ``EbokClient.after_sign_in`` calls the
deletion's ``cancel_deletion_on_sign_in``. Time-skipping server, real SMTP and store."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from ebok.models import deletion as m
from ebok.models.sign_in import SignInOutcome
from ebok.settings import Settings
from ebok.store.db import Store
from entrypoints.devsmtp import DevSmtpServer
from facade.client import EbokClient, deletion_workflow_id
from tests.account.helpers import PASSWORD, an_account_with_password, an_ip
from tests.conftest import worker_for
from tests.timeskip import outcome
from tests.workflows.test_deletion import requested_and_confirmed

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_signing_in_cancels_a_scheduled_deletion(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok_for: Any,
) -> None:
    ebok: EbokClient = ebok_for(skipping_env.client)
    account_id, email, login = await an_account_with_password(store)
    async with worker_for(skipping_env.client, settings, store):
        await requested_and_confirmed(ebok, smtpd, account_id, email)
        await skipping_env.sleep(timedelta(days=3))
        answer = await ebok.sign_in(login, PASSWORD, an_ip())
        assert answer.outcome is SignInOutcome.SIGNED_IN
        closed = await outcome(skipping_env, deletion_workflow_id(account_id), m.DeletionStatus)
    assert closed.state is m.State.CANCELLED and closed.cancelled_by == "sign_in"
    async with store.begin() as uow:
        assert await uow.accounts.get(account_id) is not None
