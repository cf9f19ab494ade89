"""Password reset end to end: real Temporal dev server, real SMTP into aiosmtpd, SQLite and
PostgreSQL. The token is read from the mail the SMTP server received."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from ebok.errors import InvalidInput, RateLimited
from ebok.models import password_reset as m
from ebok.models.search import EBOK_DEADLINE, EBOK_OUTCOME, EBOK_PROCESS, EBOK_STATUS
from ebok.models.sign_in import SignInOutcome
from ebok.settings import Settings
from ebok.store.db import Store
from ebok.store.tables import password_reset_hashes
from entrypoints.devsmtp import DevSmtpServer
from facade.client import EbokClient, password_reset_workflow_id
from tests.account.helpers import NEW_PASSWORD, PASSWORD, an_account_with_password, an_ip
from tests.conftest import worker_for
from tests.mailbox import addressed_to, body, link_token

pytestmark = pytest.mark.asyncio(loop_scope="session")


def token_of(mail: Any) -> str:
    return link_token(mail, m.RESET_PAGE)


@pytest.fixture
def ebok(env: WorkflowEnvironment, ebok_for: Any) -> EbokClient:
    client: EbokClient = ebok_for(env.client)
    return client


async def test_reset_sets_the_password_ends_sessions_and_tells_the_owner(
    env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok: EbokClient,
) -> None:
    account_id, email, login = await an_account_with_password(store)
    session = await ebok.sign_in(login, PASSWORD, an_ip())
    assert session.generation == 1
    async with worker_for(env.client, settings, store):
        await ebok.request_password_reset(email.upper())
        (mail,) = await smtpd.wait_for(1)
        assert mail["To"] == email and mail["Subject"] == "Ustaw nowe hasło do eBOK"
        assert login in body(mail) and "https://ebok.test/nowe-haslo?token=" in body(mail)

        handle = env.client.get_workflow_handle(password_reset_workflow_id(account_id))
        described = await handle.describe()
        attrs = described.typed_search_attributes
        assert attrs.get(EBOK_PROCESS) == "password_reset"
        assert attrs.get(EBOK_STATUS) == "awaiting_new_password"
        assert attrs.get(EBOK_DEADLINE) is not None
        assert email not in str(described.raw_description)  # no PII in what operators see
        status = await ebok.password_reset_status(account_id)
        assert status.state is m.State.AWAITING_NEW_PASSWORD and status.reason == "customer"

        token = token_of(mail)
        assert await ebok.confirm_password_reset(token, NEW_PASSWORD) is m.ResetOutcome.CHANGED
        changed = (await smtpd.wait_for(2))[1]
        assert changed["Subject"] == "Hasło do eBOK zostało zmienione"
        assert "https://ebok.test/nie-pamietam-hasla" in body(changed)
        result = await env.client.get_workflow_handle(
            password_reset_workflow_id(account_id), result_type=m.PasswordResetStatus
        ).result()
        assert result.state is m.State.CHANGED
        final = await handle.describe()
        assert final.status == WorkflowExecutionStatus.COMPLETED
        assert final.typed_search_attributes.get(EBOK_OUTCOME) == "changed"

        assert await ebok.confirm_password_reset(token, NEW_PASSWORD) is (
            m.ResetOutcome.ALREADY_USED
        )
    assert not await ebok.session_valid(account_id, 1)  # every session ended
    assert await ebok.session_valid(account_id, 2)
    assert (await ebok.sign_in(login, PASSWORD, an_ip())).outcome is SignInOutcome.REFUSED
    again = await ebok.sign_in(login, NEW_PASSWORD, an_ip())
    assert again.outcome is SignInOutcome.SIGNED_IN and again.generation == 2


async def test_unknown_address_same_answer_and_no_mail(
    env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok: EbokClient,
) -> None:
    _, email, _ = await an_account_with_password(store)
    async with worker_for(env.client, settings, store):
        await ebok.request_password_reset("nobody." + email)
        await ebok.request_password_reset(email)
        (mail,) = await smtpd.wait_for(1)
        # The known address's mail came; the unknown one's would have come before it.
        await asyncio.sleep(0.3)
    assert [msg["To"] for msg in smtpd.messages] == [email] and mail["To"] == email


async def test_asking_again_at_once_sends_nothing_more_staff_see_the_cooldown(
    env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok: EbokClient,
) -> None:
    account_id, email, _ = await an_account_with_password(store)
    async with worker_for(env.client, settings, store):
        await ebok.request_password_reset(email)
        await ebok.request_password_reset(email)  # the same answer, no second mail
        await smtpd.wait_for(1)
        with pytest.raises(RateLimited) as too_soon:
            await ebok.start_password_reset(account_id)
        status = await ebok.password_reset_status(account_id)
        assert too_soon.value.retry_at == status.next_resend_at
        assert status.resends_left == settings.password_reset_resend_limit  # none used
        await asyncio.sleep(0.3)
    assert len(addressed_to(smtpd.messages, email)) == 1


async def test_fifty_concurrent_redemptions_one_success(
    env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok: EbokClient,
) -> None:
    account_id, email, login = await an_account_with_password(store)
    async with worker_for(env.client, settings, store):
        await ebok.request_password_reset(email)
        token = token_of((await smtpd.wait_for(1))[0])
        passwords = [f"{NEW_PASSWORD} nr {i}" for i in range(50)]
        answers = await asyncio.gather(*(ebok.confirm_password_reset(token, p) for p in passwords))
        assert answers.count(m.ResetOutcome.CHANGED) == 1
        assert set(answers) <= {m.ResetOutcome.CHANGED, m.ResetOutcome.ALREADY_USED}
        await smtpd.wait_for(2)
    winner = passwords[answers.index(m.ResetOutcome.CHANGED)]
    signed = [
        await ebok.sign_in(login, p, an_ip())
        for p in (winner, passwords[0 if winner != passwords[0] else 1])
    ]
    assert signed[0].outcome is SignInOutcome.SIGNED_IN and signed[0].generation == 2
    assert signed[1].outcome is SignInOutcome.REFUSED
    async with store.begin() as uow:
        staged = await uow.conn.execute(select(func.count()).select_from(password_reset_hashes))
        assert staged.scalar_one() == 0  # no hash is left behind
    assert len(addressed_to(smtpd.messages, email)) == 2  # the link and one "changed"


@pytest.mark.parametrize(
    ("password", "says"),
    [
        ("short", "8 to 1024"),
        ("x" * 1025, "8 to 1024"),
        ("aaaaaaaaaaaa", "fewer than 3"),
        ("qwerty123", "most common"),
    ],
)
async def test_a_weak_password_is_refused_and_the_link_still_works(
    env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok: EbokClient,
    password: str,
    says: str,
) -> None:
    account_id, email, _ = await an_account_with_password(store)
    async with worker_for(env.client, settings, store):
        await ebok.request_password_reset(email)
        token = token_of((await smtpd.wait_for(1))[0])
        with pytest.raises(InvalidInput) as bad:
            await ebok.confirm_password_reset(token, password)
        assert set(bad.value.errors) == {"password"} and says in bad.value.errors["password"]
        assert await ebok.session_valid(account_id, 1)  # nothing changed
        assert await ebok.confirm_password_reset(token, NEW_PASSWORD) is m.ResetOutcome.CHANGED
        await smtpd.wait_for(2)


async def test_a_password_with_the_login_in_it_is_refused(
    env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok: EbokClient,
) -> None:
    _, email, login = await an_account_with_password(store)
    async with worker_for(env.client, settings, store):
        await ebok.request_password_reset(email)
        token = token_of((await smtpd.wait_for(1))[0])
        with pytest.raises(InvalidInput) as bad:
            await ebok.confirm_password_reset(token, f"Moje {login} 2026")
        assert "login" in bad.value.errors["password"]


@pytest.mark.parametrize("token", ["", "x" * 64, "0" * 64, "0" * 500, "zz\r\nzz"])
async def test_unknown_or_malformed_tokens_are_invalid(ebok: EbokClient, token: str) -> None:
    assert await ebok.confirm_password_reset(token, NEW_PASSWORD) is m.ResetOutcome.INVALID


@pytest.mark.parametrize("email", ["", "no-at-sign", "a@b.pl\r\nBcc: x@example.pl", "a@b.pl\x00"])
async def test_a_bad_address_is_named(ebok: EbokClient, email: str) -> None:
    with pytest.raises(InvalidInput) as bad:
        await ebok.request_password_reset(email)
    assert set(bad.value.errors) == {"email"}
