"""Sign-in through the facade: one answer for an unknown login and a wrong password, the
throttle per account and per address, the lock mail, re-hashing, sessions, the hook.
SQLite and PostgreSQL; the lock mail goes through the real dev server and SMTP."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from nacl.pwhash import argon2id
from sqlalchemy import func, select
from temporalio.testing import WorkflowEnvironment

from ebok.errors import InvalidInput
from ebok.models.sign_in import SignInAnswer, SignInOutcome
from ebok.passwords import hash_password, needs_rehash, verify_password
from ebok.settings import Settings
from ebok.store.db import Store
from ebok.store.tables import sign_in_ip_failures, sign_in_throttle
from entrypoints.devsmtp import DevSmtpServer
from facade.client import EbokClient
from tests.account.helpers import PASSWORD, an_account_with_password, an_ip
from tests.conftest import make_settings, worker_for
from tests.factories import a_linked_account
from tests.mailbox import addressed_to, body

pytestmark = pytest.mark.asyncio(loop_scope="session")

REFUSED = SignInAnswer(outcome=SignInOutcome.REFUSED)


@pytest.fixture
def ebok(env: WorkflowEnvironment, ebok_for: Any) -> EbokClient:
    client: EbokClient = ebok_for(env.client)
    return client


async def test_signs_in_by_login_or_address_in_any_case(store: Store, ebok: EbokClient) -> None:
    account_id, email, login = await an_account_with_password(store)
    for who in (login, login.upper(), email, email.upper()):
        answer = await ebok.sign_in(who, PASSWORD, an_ip())
        assert answer == SignInAnswer(
            outcome=SignInOutcome.SIGNED_IN, account_id=account_id, generation=1, linked=False
        )


async def test_a_linked_account_says_so(store: Store, ebok: EbokClient) -> None:
    account_id, email, _ = await a_linked_account(store)
    async with store.begin() as uow:  # the factory's account has no real hash: give it one
        await uow.sign_in.set_password(account_id, await hash_password(PASSWORD))
    answer = await ebok.sign_in(email, PASSWORD, an_ip())
    assert answer.outcome is SignInOutcome.SIGNED_IN and answer.linked is True
    assert answer.account_id == account_id and answer.generation == 2


async def test_unknown_login_and_wrong_password_get_one_answer(
    store: Store, ebok: EbokClient
) -> None:
    _, email, login = await an_account_with_password(store)
    assert await ebok.sign_in(login, PASSWORD + "x", an_ip()) == REFUSED
    assert await ebok.sign_in("nobody." + login, PASSWORD, an_ip()) == REFUSED
    assert await ebok.sign_in("nobody." + email, PASSWORD, an_ip()) == REFUSED
    assert await ebok.sign_in(login, PASSWORD.lower(), an_ip()) == REFUSED


async def test_five_failures_block_and_a_right_password_waits_too(
    store: Store, ebok: EbokClient
) -> None:
    _, _, login = await an_account_with_password(store)
    for _ in range(4):
        assert await ebok.sign_in(login, "wrong-password", an_ip()) == REFUSED
    fifth = await ebok.sign_in(login, "wrong-password", an_ip())
    assert fifth.outcome is SignInOutcome.THROTTLED and fifth.retry_at is not None
    assert fifth.account_id is None
    right = await ebok.sign_in(login, PASSWORD, an_ip())
    assert right.outcome is SignInOutcome.THROTTLED and right.retry_at == fifth.retry_at


async def test_an_unknown_login_is_throttled_alike(store: Store, ebok: EbokClient) -> None:
    """Locking says nothing about whether the account exists."""
    _, _, login = await an_account_with_password(store)
    answers = [await ebok.sign_in("ghost." + login, "wrong-password", an_ip()) for _ in range(6)]
    assert [a.outcome for a in answers] == [SignInOutcome.REFUSED] * 4 + [
        SignInOutcome.THROTTLED
    ] * 2


async def test_an_address_over_its_cap_is_refused_until_its_window_ends(
    store: Store, db_url: str, smtpd: DevSmtpServer, env: WorkflowEnvironment, ebok_for: Any
) -> None:
    capped = make_settings(db_url, smtpd.port, sign_in_ip_limit=3)
    ebok: EbokClient = ebok_for(env.client, capped)
    ip = an_ip()
    _, _, login = await an_account_with_password(store)
    for n in range(3):
        _, _, other = await an_account_with_password(store)
        assert await ebok.sign_in(other, "wrong-password", ip) == REFUSED, n
    held = await ebok.sign_in(login, PASSWORD, ip)  # the right password, from that address
    assert held.outcome is SignInOutcome.THROTTLED and held.retry_at is not None
    assert held.retry_at.minute % 15 == 0 and held.retry_at.second == 0
    # Another address of the same /64 is the same client; another /64 is not.
    same_64 = ip.replace("::1", "::beef")
    assert (await ebok.sign_in(login, PASSWORD, same_64)).outcome is SignInOutcome.THROTTLED
    assert (await ebok.sign_in(login, PASSWORD, an_ip())).outcome is SignInOutcome.SIGNED_IN


async def test_locked_account_gets_exactly_one_mail(
    store: Store, db_url: str, smtpd: DevSmtpServer, env: WorkflowEnvironment, ebok_for: Any
) -> None:
    quick = make_settings(
        db_url,
        smtpd.port,
        sign_in_first_delay=timedelta(milliseconds=50),
        sign_in_max_delay=timedelta(milliseconds=100),
    )
    ebok: EbokClient = ebok_for(env.client, quick)
    _, email, login = await an_account_with_password(store)
    async with worker_for(env.client, quick, store):
        failures = 0
        while failures < 12:  # the lock and seven more failed tries after its blocks lift
            answer = await ebok.sign_in(login, "wrong-password", an_ip())
            if answer.outcome is SignInOutcome.THROTTLED and answer.retry_at is not None:
                await asyncio.sleep(0.11)  # the longest block of these settings
            failures += 1
        # Rival failures at once: still no second mail.
        await asyncio.gather(*(ebok.sign_in(login, "wrong", an_ip()) for _ in range(10)))
        (mail,) = await smtpd.wait_for(1)
        await asyncio.sleep(0.5)  # a second mail, if any, would be on its way by now
        status = await ebok.password_reset_status(await _id_of(store, login))
    locked = addressed_to(smtpd.messages, email)
    assert len(locked) == 1 and mail["To"] == email
    assert mail["Subject"] == "Logowanie do eBOK zostało wstrzymane"
    assert "https://ebok.test/nowe-haslo?token=" in body(mail)
    assert status.reason == "locked" and status.links_sent == 1


async def _id_of(store: Store, login: str) -> str:
    async with store.begin() as uow:
        account = await uow.accounts.by_login(login)
    assert account is not None
    return account.id


async def test_an_old_hash_is_replaced_at_sign_in(store: Store, ebok: EbokClient) -> None:
    old = argon2id.str(PASSWORD.encode(), opslimit=3, memlimit=12 * 1024 * 1024).decode()
    assert needs_rehash(old)
    account_id, _, login = await an_account_with_password(store, password_hash=old)
    answer = await ebok.sign_in(login, PASSWORD, an_ip())
    assert answer.outcome is SignInOutcome.SIGNED_IN and answer.generation == 1
    async with store.begin() as uow:
        creds = await uow.accounts.credentials(login)
    assert creds is not None and creds.password_hash != old
    assert not needs_rehash(creds.password_hash) and verify_password(creds.password_hash, PASSWORD)
    assert creds.generation == 1  # the same password: sessions go on


async def test_sessions_end_when_the_generation_moves(store: Store, ebok: EbokClient) -> None:
    account_id, _, login = await an_account_with_password(store)
    answer = await ebok.sign_in(login, PASSWORD, an_ip())
    assert answer.generation == 1 and await ebok.session_valid(account_id, 1)
    async with store.begin() as uow:
        await uow.sign_in.set_password(account_id, "another hash")
    assert not await ebok.session_valid(account_id, 1)
    assert await ebok.session_valid(account_id, 2)
    assert not await ebok.session_valid("0" * 32, 1)
    with pytest.raises(InvalidInput) as bad:
        await ebok.session_valid(account_id, 0)
    assert set(bad.value.errors) == {"generation"}
    with pytest.raises(InvalidInput) as bad:
        await ebok.session_valid("Robert'); DROP", 1)
    assert set(bad.value.errors) == {"account_id"}


class Hooked(EbokClient):
    signed_in: list[str]

    async def after_sign_in(self, account_id: str) -> None:
        await super().after_sign_in(account_id)
        self.signed_in.append(account_id)


async def test_the_hook_runs_after_each_successful_sign_in_only(
    store: Store, env: WorkflowEnvironment, settings: Settings
) -> None:
    ebok = Hooked(env.client, store, settings)
    ebok.signed_in = []
    account_id, _, login = await an_account_with_password(store)
    await ebok.sign_in(login, "wrong-password", an_ip())
    await ebok.sign_in("ghost." + login, PASSWORD, an_ip())
    assert ebok.signed_in == []
    await ebok.sign_in(login, PASSWORD, an_ip())
    assert ebok.signed_in == [account_id]


async def _counts(store: Store) -> tuple[int, int]:
    async with store.begin() as uow:
        throttled = (
            await uow.conn.execute(select(func.count()).select_from(sign_in_throttle))
        ).scalar_one()
        ips = (
            await uow.conn.execute(select(func.count()).select_from(sign_in_ip_failures))
        ).scalar_one()
    return throttled, ips


@pytest.mark.parametrize(
    ("login", "password", "ip", "field"),
    [
        ("jan\r\nBcc: x@example.pl", PASSWORD, "192.0.2.1", "login_or_email"),
        ("jan\x00", PASSWORD, "192.0.2.1", "login_or_email"),
        ("", PASSWORD, "192.0.2.1", "login_or_email"),
        ("j" * 255, PASSWORD, "192.0.2.1", "login_or_email"),
        ("jan", "", "192.0.2.1", "password"),
        ("jan", "x" * 1025, "192.0.2.1", "password"),
        ("jan", PASSWORD, "not-an-ip", "client_ip"),
        ("jan", PASSWORD, "192.0.2.1\n", "client_ip"),
    ],
)
async def test_bad_input_is_named_and_nothing_is_stored(
    store: Store, ebok: EbokClient, login: str, password: str, ip: str, field: str
) -> None:
    before = await _counts(store)
    with pytest.raises(InvalidInput) as bad:
        await ebok.sign_in(login, password, ip)
    assert set(bad.value.errors) == {field}
    assert PASSWORD not in str(bad.value)
    assert await _counts(store) == before


@hsettings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.text(min_size=0, max_size=20),
    st.sampled_from(["\r", "\n", "\x00", "\x1b", "\x7f"]),
    st.text(min_size=0, max_size=20),
)
async def test_any_control_character_in_the_login_is_refused(
    store: Store, ebok: EbokClient, head: str, control: str, tail: str
) -> None:
    with pytest.raises(InvalidInput) as bad:
        await ebok.sign_in(head + control + tail, PASSWORD, "192.0.2.1")
    assert set(bad.value.errors) == {"login_or_email"}


async def test_a_new_password_lifts_the_block(store: Store, ebok: EbokClient) -> None:
    account_id, _, login = await an_account_with_password(store)
    for _ in range(5):
        await ebok.sign_in(login, "wrong-password", an_ip())
    assert (await ebok.sign_in(login, PASSWORD, an_ip())).outcome is SignInOutcome.THROTTLED
    async with store.begin() as uow:  # what the reset's redemption does, in its transaction
        await uow.sign_in.set_password(account_id, await hash_password(PASSWORD + "!"))
    answer = await ebok.sign_in(login, PASSWORD + "!", an_ip())
    assert answer.outcome is SignInOutcome.SIGNED_IN and answer.generation == 2
