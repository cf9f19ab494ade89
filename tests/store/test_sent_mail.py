"""The sent-mail log on SQLite and PostgreSQL: a Message-ID recorded twice is one row, a
page of notices learns in one query which of its mails already went out, and a mail that
went out is recorded without waiting for the process's other transactions."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from ebok.store.db import Store

AT = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)


async def test_a_page_learns_which_of_its_mails_went_out(store: Store) -> None:
    run = uuid.uuid4().hex
    page = [f"<{run}.{i}@ebok.test>" for i in range(5)]
    async with store.begin() as uow:
        for mid in page[1:4]:
            await uow.mail.record(mid, "test", "s", AT)
        await uow.mail.record(page[2], "test", "s", AT)  # a retried activity: no error
    async with store.begin() as uow:
        assert await uow.mail.sent_among(page) == set(page[1:4])
        assert await uow.mail.sent_among([]) == set()
        assert [await uow.mail.was_sent(mid) for mid in page] == [False, True, True, True, False]


async def test_a_sent_mail_is_recorded_while_another_task_holds_a_transaction(
    store: Store,
) -> None:
    """On SQLite the store's one connection is taken for as long as the other task's
    transaction is open: the record must not queue for it."""
    mid = f"<{uuid.uuid4().hex}@ebok.test>"
    held, release = asyncio.Event(), asyncio.Event()

    async def holder() -> None:
        async with store.begin() as uow:
            await uow.mail.was_sent(mid)
            held.set()
            await release.wait()

    async with asyncio.timeout(10):
        holding = asyncio.create_task(holder())
        await held.wait()
        await store.record_sent(mid, "test", "s", AT)
        await store.record_sent(mid, "test", "s", AT)  # a retried activity: no error
        assert not holding.done()
        release.set()
        await holding
    async with store.begin() as uow:
        assert await uow.mail.was_sent(mid)
