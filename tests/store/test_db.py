"""The unit of work: one transaction per task at a time, and SQLite's one connection per
process, which concurrent tasks take in turn."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest

from ebok.store.db import Store

AT = datetime(2026, 12, 6, 6, 0, tzinfo=UTC)


async def test_a_transaction_inside_another_is_refused_at_once(store: Store) -> None:
    async with asyncio.timeout(5), store.begin():
        with pytest.raises(RuntimeError, match="inside another"):
            async with store.begin():
                pass
        # A task started inside the transaction is inside it too: waiting for it would hang.
        with pytest.raises(RuntimeError, match="inside another"):
            await asyncio.create_task(_one_transaction(store))
    await _one_transaction(store)  # and after it, one opens as usual


async def test_another_store_may_open_its_own_inside(store: Store) -> None:
    other = Store.from_url(store.engine.url.render_as_string(hide_password=False))
    try:
        async with asyncio.timeout(5), store.begin():
            await _one_transaction(other)
    finally:
        await other.aclose()


async def test_concurrent_tasks_take_the_connection_in_turn(store: Store) -> None:
    run = uuid.uuid4().hex
    mids = [f"<{run}.{i}@ebok.test>" for i in range(40)]

    async def record(mid: str) -> None:
        async with store.begin() as uow:
            await uow.mail.record(mid, "test", "s", AT)
            await asyncio.sleep(0)  # hold it across a turn of the loop, as activities do

    async with asyncio.timeout(30):
        await asyncio.gather(*(record(mid) for mid in mids))
    async with store.begin() as uow:
        assert await uow.mail.sent_among(mids) == set(mids)
    if store.engine.dialect.name == "sqlite":
        assert store.engine.pool.size() == 1  # type: ignore[attr-defined]


async def _one_transaction(store: Store) -> None:
    async with store.begin() as uow:
        await uow.mail.was_sent("<nothing@ebok.test>")
