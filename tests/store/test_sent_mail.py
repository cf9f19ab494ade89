"""The sent-mail log on SQLite and PostgreSQL: a Message-ID recorded twice is one row, and a
page of notices learns in one query which of its mails already went out."""

from __future__ import annotations

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
