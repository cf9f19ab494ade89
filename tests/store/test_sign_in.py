"""Sign-in throttling and password-reset rows in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from ebok.sign_in_rules import ThrottleRules, blocked_until, ip_window_start
from ebok.store.db import Store
from tests.factories import an_account

RULES = ThrottleRules(ip_limit=3, ip_window=timedelta(minutes=15))
NOW = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)


def key() -> str:
    return uuid.uuid4().hex


async def fail(
    store: Store, subject: str, ip_key: str, at: datetime, rules: ThrottleRules = RULES
) -> tuple[datetime | None, bool]:
    async with store.begin() as uow:
        f = await uow.sign_in.record_failure(
            subject, ip_key, ip_window_start(at, rules.ip_window), at, rules
        )
    return f.blocked_until, f.locked_now


async def test_fifth_failure_blocks_for_a_minute_and_the_block_lifts(store: Store) -> None:
    subject = key()
    for _ in range(4):
        assert await fail(store, subject, key(), NOW) == (None, False)
    assert await fail(store, subject, key(), NOW) == (NOW + timedelta(minutes=1), True)
    async with store.begin() as uow:
        state = await uow.sign_in.throttle(subject)
    assert blocked_until(state, NOW + timedelta(seconds=59)) == NOW + timedelta(minutes=1)
    assert blocked_until(state, NOW + timedelta(minutes=1)) is None
    # The next failure after the block doubles it, and mails no one again.
    later = NOW + timedelta(minutes=2)
    assert await fail(store, subject, key(), later) == (later + timedelta(minutes=2), False)


async def test_rival_failures_lock_once(store: Store) -> None:
    subject = key()
    results = await asyncio.gather(*(fail(store, subject, key(), NOW) for _ in range(20)))
    assert sum(locked for _, locked in results) == 1
    async with store.begin() as uow:
        assert (await uow.sign_in.throttle(subject)).failures == 20


async def test_forgetting_failures_ends_the_run(store: Store) -> None:
    subject = key()
    for _ in range(5):
        await fail(store, subject, key(), NOW)
    async with store.begin() as uow:
        await uow.sign_in.forget_failures(subject)
        assert (await uow.sign_in.throttle(subject)).failures == 0
    for _ in range(4):
        assert await fail(store, subject, key(), NOW) == (None, False)


async def test_an_address_is_capped_per_window_and_the_next_window_starts_afresh(
    store: Store,
) -> None:
    ip_key = key()
    window = ip_window_start(NOW, RULES.ip_window)
    for n in range(3):
        async with store.begin() as uow:
            assert await uow.sign_in.ip_blocked_until(ip_key, window, RULES) is None, n
        await fail(store, key(), ip_key, NOW)
    async with store.begin() as uow:
        assert await uow.sign_in.ip_blocked_until(ip_key, window, RULES) == window + RULES.ip_window
        next_window = window + RULES.ip_window
        assert await uow.sign_in.ip_blocked_until(ip_key, next_window, RULES) is None
    await fail(store, key(), ip_key, next_window)  # counts from 1 in the new window
    async with store.begin() as uow:
        assert await uow.sign_in.ip_blocked_until(ip_key, next_window, RULES) is None


async def test_lapsed_windows_and_quiet_runs_are_forgotten(store: Store) -> None:
    ip_key, quiet, blocked = key(), key(), key()
    window = ip_window_start(NOW, RULES.ip_window)
    await fail(store, quiet, ip_key, NOW)
    for _ in range(20):  # blocked for the cap, an hour, from NOW
        await fail(store, blocked, key(), NOW)
    day_later = NOW + timedelta(days=1, minutes=1)
    async with store.begin() as uow:
        await uow.sign_in.purge(ip_window_start(day_later, RULES.ip_window), day_later)
        assert (await uow.sign_in.throttle(quiet)).failures == 0
        assert (await uow.sign_in.throttle(blocked)).failures == 0
        assert await uow.sign_in.ip_blocked_until(ip_key, window, RULES) is None
    # A run still blocking is kept, however old its last failure.
    long_block = ThrottleRules(first_delay=timedelta(days=2), max_delay=timedelta(days=2))
    still = key()
    for _ in range(5):
        await fail(store, still, key(), NOW, long_block)
    async with store.begin() as uow:
        await uow.sign_in.purge(window, day_later)
        assert (await uow.sign_in.throttle(still)).failures == 5


async def test_new_password_raises_the_generation_and_rehash_keeps_it(store: Store) -> None:
    account_id, email = await an_account(store)
    async with store.begin() as uow:
        assert await uow.sign_in.generation(account_id) == 1
        creds = await uow.accounts.credentials(email.upper())
        assert creds is not None and creds.account_id == account_id and creds.generation == 1
        assert await uow.sign_in.rehash(account_id, "x", "y")
        assert not await uow.sign_in.rehash(account_id, "x", "z")  # changed meanwhile
        assert await uow.sign_in.set_password(account_id, "new") == 2
        assert await uow.sign_in.generation(account_id) == 2
        assert await uow.sign_in.generation("0" * 32) is None


async def test_staged_hashes_are_per_redemption_and_dropped(store: Store) -> None:
    reset_id, account_id = key(), key()
    async with store.begin() as uow:
        await uow.sign_in.add_reset(reset_id, account_id, "customer", NOW)
        await uow.sign_in.add_reset(reset_id, account_id, "locked", NOW)  # a retry: no change
        reset = await uow.sign_in.reset(reset_id)
        assert reset is not None and reset.reason == "customer" and reset.changed_at is None
        await uow.sign_in.stage_hash("a" * 32, reset_id, "hash-a", NOW)
        await uow.sign_in.stage_hash("b" * 32, reset_id, "hash-b", NOW)
        assert await uow.sign_in.staged_hash("a" * 32, reset_id) == "hash-a"
        assert await uow.sign_in.staged_hash("a" * 32, key()) is None  # another reset's
        await uow.sign_in.drop_staged(reset_id, "a" * 32)
        assert await uow.sign_in.staged_hash("a" * 32, reset_id) is None
        assert await uow.sign_in.staged_hash("b" * 32, reset_id) == "hash-b"
        await uow.sign_in.drop_staged(reset_id)
        assert await uow.sign_in.staged_hash("b" * 32, reset_id) is None
        await uow.sign_in.mark_changed(reset_id, NOW)
        changed = await uow.sign_in.reset(reset_id)
        assert changed is not None and changed.changed_at == NOW
