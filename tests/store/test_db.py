"""The unit of work: one transaction per task at a time, and the pools, which concurrent
tasks take in turn and which keep what they made (SQLite's one connection per process,
PostgreSQL's ``database_pool_size``)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from sqlalchemy import event

from ebok.settings import Settings
from ebok.store.db import SQLITE_POOL_SIZE, Store

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


async def test_concurrent_tasks_take_the_pool_in_turn(store: Store) -> None:
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
        assert store.engine.pool.size() == SQLITE_POOL_SIZE  # type: ignore[attr-defined]


async def test_a_busy_process_keeps_the_connections_it_made(store: Store) -> None:
    url = store.engine.url.render_as_string(hide_password=False)  # migrated by the fixture
    store = Store.from_settings(Settings(_env_file=None, database_url=url, database_pool_size=4))
    made = 0

    @event.listens_for(store.engine.sync_engine.pool, "connect")
    def _made(*_: object) -> None:
        nonlocal made
        made += 1

    async def busy() -> None:
        async with store.begin() as uow:
            await uow.mail.was_sent("<nothing@ebok.test>")
            await asyncio.sleep(0.01)  # twelve want a connection at once

    try:
        async with asyncio.timeout(30):
            for _ in range(3):
                await asyncio.gather(*(busy() for _ in range(12)))
    finally:
        await store.aclose()
    # Closing what is returned beyond the pool's size and connecting again at the next burst
    # would be a new server process each time, on PostgreSQL.
    assert made == (SQLITE_POOL_SIZE if store.engine.dialect.name == "sqlite" else 4)


@pytest.mark.parametrize("bad", [0, 501, "many"])
def test_the_pool_size_is_checked_and_named(bad: object) -> None:
    with pytest.raises(ValidationError, match="database_pool_size"):
        Settings(_env_file=None, database_pool_size=bad)


async def _one_transaction(store: Store) -> None:
    async with store.begin() as uow:
        await uow.mail.was_sent("<nothing@ebok.test>")
