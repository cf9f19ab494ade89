"""Sent-mail records with a group commit, on SQLite and PostgreSQL: every caller's record is
committed before it returns, concurrent ones share commits, and a bad record fails alone."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import DBAPIError, OperationalError

from ebok.store.db import Store, UnitOfWork
from ebok.store.mail import SentMail, SentMailLedger

AT = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)


class Counted:
    """``Store.begin`` that counts the transactions it opened."""

    def __init__(self, store: Store) -> None:
        self.store, self.transactions = store, 0

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[UnitOfWork]:
        self.transactions += 1
        async with self.store.begin() as uow:
            yield uow


def mails(n: int) -> list[SentMail]:
    run = uuid.uuid4().hex
    return [SentMail(f"<{run}.{i}@ebok.test>", "test", f"s{i}", AT) for i in range(n)]


async def recorded(store: Store, batch: list[SentMail]) -> int:
    async with store.begin() as uow:
        return sum([await uow.mail.was_sent(m.message_id) for m in batch])


async def test_concurrent_records_share_commits_and_are_all_kept(store: Store) -> None:
    counted = Counted(store)
    ledger = SentMailLedger(counted.begin)
    batch = mails(60)
    await asyncio.gather(*(ledger.record(m) for m in batch))
    assert await recorded(store, batch) == 60
    # The first commit holds the first record; the rest arrive while it runs.
    assert counted.transactions <= 3


async def test_a_record_is_committed_when_its_caller_returns(store: Store) -> None:
    ledger = SentMailLedger(store.begin)
    (one,) = mails(1)
    await ledger.record(one)
    assert await recorded(store, [one]) == 1
    await ledger.record(one)  # recorded again (a retried activity): no error, still one
    assert await recorded(store, [one]) == 1


async def test_a_bad_record_fails_only_its_own_caller(store: Store) -> None:
    ledger = SentMailLedger(store.begin)
    good = mails(10)
    bad = SentMail(None, "test", "s", AT)  # type: ignore[arg-type]  # NOT NULL breaks
    results = await asyncio.gather(
        *(ledger.record(m) for m in [*good[:5], bad, *good[5:]]), return_exceptions=True
    )
    assert [isinstance(r, DBAPIError) for r in results] == [False] * 5 + [True] + [False] * 5
    assert await recorded(store, good) == 10


@pytest.mark.parametrize("cancelled", [0, 3])
async def test_a_cancelled_caller_does_not_lose_the_others_records(
    store: Store, cancelled: int
) -> None:
    ledger = SentMailLedger(store.begin)
    batch = mails(8)
    tasks = [asyncio.create_task(ledger.record(m)) for m in batch]
    await asyncio.sleep(0)
    for task in tasks[:cancelled]:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert await recorded(store, batch[cancelled:]) == 8 - cancelled


async def test_a_database_away_fails_the_batch_at_once() -> None:
    """Not one attempt per record: each caller gets the error and retries on its own."""
    opened = 0

    @asynccontextmanager
    async def unreachable() -> AsyncIterator[UnitOfWork]:
        nonlocal opened
        opened += 1
        raise OperationalError("connect", {}, ConnectionRefusedError())
        yield  # pragma: no cover

    ledger = SentMailLedger(unreachable)
    results = await asyncio.gather(*(ledger.record(m) for m in mails(10)), return_exceptions=True)
    assert all(isinstance(r, OperationalError) for r in results)
    assert opened <= 2  # the first record's commit, then the other nine's
