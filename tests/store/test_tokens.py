"""Single-use links in the store, on SQLite and PostgreSQL: one conditional UPDATE decides."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from ebok.store.db import Store
from ebok.store.tokens import IssuedToken, TokenState, hash_token

KEY = b"k" * 32
T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
TTL = timedelta(hours=72)


async def issue(store: Store, subject: str, serial: int = 1, at: datetime = T0) -> IssuedToken:
    async with store.begin() as uow:
        return await uow.tokens.issue("activation", subject, serial, at, at + TTL, KEY)


async def redeem(store: Store, token: str, at: datetime, by: str = "") -> TokenState:
    async with store.begin() as uow:
        used = await uow.tokens.redeem("activation", hash_token(token), at, by or uuid.uuid4().hex)
    return used.state


async def test_fifty_concurrent_redemptions_one_winner(store: Store) -> None:
    issued = await issue(store, uuid.uuid4().hex)
    states = await asyncio.gather(*(redeem(store, issued.token, T0) for _ in range(50)))
    assert states.count(TokenState.REDEEMED) == 1
    assert states.count(TokenState.ALREADY_USED) == 49


async def test_expiry_is_enforced_by_the_update(store: Store) -> None:
    issued = await issue(store, uuid.uuid4().hex)
    assert await redeem(store, issued.token, T0 + TTL) is TokenState.EXPIRED
    assert await redeem(store, issued.token, T0 + TTL - timedelta(seconds=1)) is TokenState.REDEEMED


async def test_a_new_link_revokes_the_old_one(store: Store) -> None:
    subject = uuid.uuid4().hex
    first = await issue(store, subject, 1)
    second = await issue(store, subject, 2, T0 + timedelta(minutes=5))
    assert await redeem(store, first.token, T0 + timedelta(minutes=6)) is TokenState.INVALID
    assert await redeem(store, second.token, T0 + timedelta(minutes=6)) is TokenState.REDEEMED


async def test_reissuing_a_serial_gives_back_the_same_token(store: Store) -> None:
    """A retried send (its first mail may have arrived) must not kill the mailed link."""
    subject = uuid.uuid4().hex
    first = await issue(store, subject, 1)
    retried = await issue(store, subject, 1, T0 + timedelta(minutes=1))
    assert retried == first
    assert await redeem(store, first.token, T0) is TokenState.REDEEMED


async def test_tokens_differ_per_serial_subject_and_key(store: Store) -> None:
    subject = uuid.uuid4().hex
    a, b = await issue(store, subject, 1), await issue(store, subject, 2)
    other = await issue(store, uuid.uuid4().hex, 1)
    assert len({a.token, b.token, other.token}) == 3
    async with store.begin() as uow:
        again = await uow.tokens.issue("activation", subject, 2, T0, T0 + TTL, b"x" * 32)
    assert again.token != b.token  # the key is part of it: a leaked salt alone is useless


async def test_retry_of_the_same_redemption_is_recognised(store: Store) -> None:
    issued = await issue(store, uuid.uuid4().hex)
    async with store.begin() as uow:
        first = await uow.tokens.redeem("activation", hash_token(issued.token), T0, "update-1")
        again = await uow.tokens.redeem("activation", hash_token(issued.token), T0, "update-1")
        other = await uow.tokens.redeem("activation", hash_token(issued.token), T0, "update-2")
    assert first.state is TokenState.REDEEMED
    assert again.state is TokenState.ALREADY_USED and again.used_by == "update-1"
    assert other.used_by == "update-1"


async def test_token_of_another_subject_is_invalid(store: Store) -> None:
    issued = await issue(store, uuid.uuid4().hex)
    async with store.begin() as uow:
        used = await uow.tokens.redeem(
            "activation", hash_token(issued.token), T0, "u", subject_id=uuid.uuid4().hex
        )
    assert used.state is TokenState.INVALID


async def test_only_the_hash_is_stored(store: Store) -> None:
    issued = await issue(store, uuid.uuid4().hex)
    assert len(issued.token) == 64 and int(issued.token, 16) >= 0  # 256 bits in hex
    async with store.begin() as uow:
        subject = await uow.tokens.subject_of("activation", issued.token)
    assert subject is None  # looking up by the raw token finds nothing


async def test_rollback_leaves_nothing(store: Store) -> None:
    subject = uuid.uuid4().hex
    try:
        async with store.begin() as uow:
            await uow.tokens.issue("activation", subject, 1, T0, T0 + TTL, KEY)
            raise RuntimeError("activity failed half-way")
    except RuntimeError:
        pass
    async with store.begin() as uow:
        state = await uow.tokens.state_of("activation", hash_token("nothing"), T0, subject)
    assert state.state is TokenState.INVALID
    fresh = await issue(store, subject, 1)  # the serial is still free
    assert await redeem(store, fresh.token, T0) is TokenState.REDEEMED


async def test_serials_start_at_one(store: Store) -> None:
    """Link 1 skips the revoking UPDATE (nothing can precede it), so 0 must not exist."""
    with pytest.raises(ValueError, match="start at 1"):
        await issue(store, uuid.uuid4().hex, 0)
