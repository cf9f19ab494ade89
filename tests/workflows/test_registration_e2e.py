"""Registration end to end: real Temporal dev server, real SMTP into aiosmtpd, SQLite and
PostgreSQL. The activation token is read from the mail the SMTP server received."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from ebok.errors import InvalidInput
from ebok.models import registration as m
from ebok.settings import Settings
from ebok.store.db import Store
from entrypoints.devsmtp import DevSmtpServer
from facade.client import EbokClient, registration_workflow_id
from tests.conftest import worker_for
from tests.mailbox import activation_token, addressed_to, body

pytestmark = pytest.mark.asyncio(loop_scope="session")

PASSWORD = "Zielona-Łąka-2026!"


def unique(prefix: str) -> tuple[str, str]:
    """A fresh address and login, so tests sharing a database never collide."""
    tag = uuid.uuid4().hex[:10]
    return f"{prefix}.{tag}@example.pl", f"{prefix}.{tag}"


async def sign_up(ebok: EbokClient, email: str, login: str) -> str:
    registered = await ebok.register(email, login, "pl")
    await ebok.set_credentials(registered.registration_id, PASSWORD, "2026-01", True)
    return registered.registration_id


async def test_register_read_mail_follow_link_active(
    env: WorkflowEnvironment, settings: Settings, store: Store, smtpd: DevSmtpServer, ebok_for: Any
) -> None:
    ebok: EbokClient = ebok_for(env.client)
    email, login = unique("jan")
    async with worker_for(env.client, settings, store):
        rid = await sign_up(ebok, email, login)
        (mail,) = await smtpd.wait_for(1)
        assert mail["To"] == email
        assert mail["Subject"] == "Aktywuj swoje konto w eBOK"
        assert mail["Message-ID"] == f"<activation.{rid}.1@ebok.example.pl>"
        assert login in body(mail)

        assert await ebok.activate(activation_token(mail)) is m.ActivationOutcome.ACTIVATED

        welcome = (await smtpd.wait_for(2))[1]
        assert "powiąż konto" in body(welcome).lower()
        handle = env.client.get_workflow_handle(
            registration_workflow_id(rid), result_type=m.RegistrationStatus
        )
        result = await handle.result()
        assert result.status is m.Status.ACTIVATED
        assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED

    async with store.begin() as uow:
        account = await uow.accounts.by_email(email.upper())  # one mailbox, any case
        assert account is not None and account.login == login and account.status == "active"


async def test_second_use_and_unknown_tokens(
    env: WorkflowEnvironment, settings: Settings, store: Store, smtpd: DevSmtpServer, ebok_for: Any
) -> None:
    ebok: EbokClient = ebok_for(env.client)
    async with worker_for(env.client, settings, store):
        await sign_up(ebok, *unique("ola"))
        token = activation_token((await smtpd.wait_for(1))[0])
        assert await ebok.activate(token) is m.ActivationOutcome.ACTIVATED
        await smtpd.wait_for(2)
        # The workflow has finished: the answer now comes from the store.
        assert await ebok.activate(token) is m.ActivationOutcome.ALREADY_USED
        assert await ebok.activate(token[:-1] + ("A" if token[-1] != "A" else "B")) is (
            m.ActivationOutcome.INVALID
        )
        assert await ebok.activate("x" * 500) is m.ActivationOutcome.INVALID


async def test_fifty_concurrent_activations_one_success(
    env: WorkflowEnvironment, settings: Settings, store: Store, smtpd: DevSmtpServer, ebok_for: Any
) -> None:
    ebok: EbokClient = ebok_for(env.client)
    email, _ = unique("rush")
    async with worker_for(env.client, settings, store):
        await sign_up(ebok, email, email.split("@")[0])
        token = activation_token((await smtpd.wait_for(1))[0])
        answers = await asyncio.gather(*(ebok.activate(token) for _ in range(50)))
        assert answers.count(m.ActivationOutcome.ACTIVATED) == 1
        assert set(answers) == {m.ActivationOutcome.ACTIVATED, m.ActivationOutcome.ALREADY_USED}
        await smtpd.wait_for(2)
    assert len(addressed_to(smtpd.messages, email)) == 2  # activation and one welcome


async def test_existing_address_same_answer_owner_notified(
    env: WorkflowEnvironment, settings: Settings, store: Store, smtpd: DevSmtpServer, ebok_for: Any
) -> None:
    ebok: EbokClient = ebok_for(env.client)
    email, login = unique("owner")
    async with worker_for(env.client, settings, store):
        await sign_up(ebok, email, login)
        token = activation_token((await smtpd.wait_for(1))[0])
        assert await ebok.activate(token) is m.ActivationOutcome.ACTIVATED
        await smtpd.wait_for(2)

        # Someone else tries the same address (other case) with a new login.
        registered = await ebok.register(email.upper(), login + "x")
        pending = await ebok.set_credentials(registered.registration_id, PASSWORD, "2026-01", True)
        assert pending.link_number == 1 and pending.resends_left == settings.resend_limit
        notice = (await smtpd.wait_for(3))[2]
        assert notice["To"] == email
        assert notice["Subject"] == "Próba rejestracji na Twój adres e-mail"
        assert "aktywacja?token=" not in body(notice)  # nothing to activate
        status = await ebok.registration_status(registered.registration_id)
        assert status.status is m.Status.AWAITING_ACTIVATION  # looks like any other

        with pytest.raises(InvalidInput) as taken:
            await ebok.register(f"other.{email}", login)
        assert set(taken.value.errors) == {"login"}
