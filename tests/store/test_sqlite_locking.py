"""SQLite through SQLAlchemy's stock aiosqlite dialect, as the store sets it up: what the
product relies on when two processes (a worker and the facade) write the same file."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import event, insert, text
from sqlalchemy.exc import IntegrityError

from ebok.store.db import Store
from ebok.store.migrate import upgrade
from ebok.store.tables import contract_accounts

AT = datetime(2026, 12, 8, 6, 0, tzinfo=UTC)
# How long the first writer keeps the file's lock once the second is waiting for it: long
# enough for a writer that did not wait (SQLITE_BUSY at once) to have failed meanwhile.
HOLD = 0.3


@pytest_asyncio.fixture(loop_scope="session")
async def two(tmp_path: Path) -> AsyncIterator[tuple[Store, Store]]:
    """Two stores on one migrated file: two processes' view of it."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'locking.db'}"
    first, second = Store.from_url(url), Store.from_url(url)
    try:
        await upgrade(first.engine)
        yield first, second
    finally:
        await first.aclose()
        await second.aclose()


def _statement_sent(store: Store, prefix: str) -> asyncio.Event:
    """Set when ``store`` hands a statement starting with ``prefix`` to its connection."""
    sent = asyncio.Event()

    def seen(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith(prefix):
            sent.set()

    event.listen(store.engine.sync_engine, "before_cursor_execute", seen)
    return sent


async def test_a_second_writer_waits_for_the_lock_instead_of_failing(
    two: tuple[Store, Store],
) -> None:
    """The second writer reads first and writes while the first holds the lock: with a
    read snapshot open, SQLite would refuse its write at once ("database is locked") when
    the first commits; it must wait for the lock and then commit."""
    first, second = two
    run = uuid.uuid4().hex
    mine, theirs = f"<{run}.first@ebok.test>", f"<{run}.second@ebok.test>"
    inserting = _statement_sent(second, "INSERT")

    async def second_writer() -> None:
        async with second.begin() as uow:
            assert not await uow.mail.was_sent(theirs)
            await uow.mail.record(theirs, "test", "s", AT)

    async with asyncio.timeout(20):
        async with first.begin() as uow:
            await uow.mail.record(mine, "test", "s", AT)  # holds the file's write lock
            waiting = asyncio.create_task(second_writer())
            await inserting.wait()
            await asyncio.sleep(HOLD)
            assert not waiting.done(), waiting  # neither failed nor got past the lock
        await waiting
        async with first.begin() as uow:
            assert await uow.mail.sent_among([mine, theirs]) == {mine, theirs}


async def test_the_sent_mail_record_waits_for_a_writer_of_another_process(
    two: tuple[Store, Store],
) -> None:
    """The record's own connection commits as it runs; behind another process's write it
    waits for the lock like any writer, then lands."""
    first, second = two
    mid = f"<{uuid.uuid4().hex}@ebok.test>"
    inserting = asyncio.Event()

    def seen(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT"):
            inserting.set()

    event.listen(second.log_engine.sync_engine, "before_cursor_execute", seen)
    async with asyncio.timeout(20):
        async with first.begin() as uow:
            await uow.mail.record(f"<{uuid.uuid4().hex}@ebok.test>", "test", "s", AT)
            recording = asyncio.create_task(second.record_sent(mid, "test", "s", AT))
            await inserting.wait()
            await asyncio.sleep(HOLD)
            assert not recording.done(), recording
        await recording
        async with first.begin() as uow:
            assert await uow.mail.was_sent(mid)


async def test_every_connection_has_wal_a_busy_timeout_and_foreign_keys(
    two: tuple[Store, Store],
) -> None:
    first, _ = two
    for engine in (first.engine, first.log_engine):
        async with engine.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar_one() == "wal"
            assert (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar_one() == 30_000
            assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar_one() == 1
    with pytest.raises(IntegrityError, match="FOREIGN KEY"):
        async with first.begin() as uow:
            await uow.conn.execute(
                insert(contract_accounts).values(
                    number="000000000001", partner_number="9999999999", updated_at=AT
                )
            )
    async with first.begin() as uow:
        left = await uow.conn.execute(text("SELECT count(*) FROM contract_accounts"))
        assert left.scalar_one() == 0
