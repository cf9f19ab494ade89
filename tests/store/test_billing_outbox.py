"""Billing's outbox on both databases: every change in exactly one batch, also when two
exports run at once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from ebok.store.db import Store
from tests.factories import a_linked_account

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_two_exports_at_once_never_share_a_change(store: Store) -> None:
    async with store.begin() as uow:
        await uow.billing_outbox.take(datetime.now(UTC))  # what other tests left
    account, _, partner = await a_linked_account(store)
    async with store.begin() as uow:
        for n in range(20):
            value = {"phone": f"+4860123{n:04d}"}
            await uow.billing_outbox.add(partner.number, account, "phone", value, datetime.now(UTC))

    async def export() -> tuple[int | None, list[str]]:
        async with store.begin() as uow:
            batch, changes = await uow.billing_outbox.take(datetime.now(UTC))
            await asyncio.sleep(0.05)  # hold the rows a moment: the rival waits on them
        return batch, [c.id for c in changes]

    (first, a), (second, b) = await asyncio.gather(export(), export())
    assert not set(a) & set(b)
    assert len(a) + len(b) == 20
    assert [first is None, second is None].count(True) == 1  # no empty batch left behind
    async with store.begin() as uow:
        assert await uow.billing_outbox.take(datetime.now(UTC)) == (None, [])
        batch = first if first is not None else second
        assert batch is not None and len(await uow.billing_outbox.batch(batch)) == 20
        assert await uow.billing_outbox.last_batch() == batch
