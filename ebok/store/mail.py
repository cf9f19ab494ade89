"""Which Message-IDs were handed to the relay: makes a retried send a no-op."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ebok.store.dialect import insert_of
from ebok.store.tables import bound
from ebok.store.tables import sent_mail as t

# Built once: every mail runs both.
_WAS_SENT = select(t.c.message_id).where(t.c.message_id == bindparam("message_id"))


@functools.cache
def _record(dialect: str) -> Any:
    return (
        insert_of(dialect)(t)
        .values(bound(t, ("message_id", "kind", "subject_id", "sent_at", "subject")))
        .on_conflict_do_nothing(index_elements=[t.c.message_id])
    )


class SentMailRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def was_sent(self, message_id: str) -> bool:
        found = await self._conn.execute(_WAS_SENT, {"message_id": message_id})
        return found.first() is not None

    async def sent_among(self, message_ids: list[str]) -> set[str]:
        """Those of ``message_ids`` already sent: one query for a page of notices."""
        found = await self._conn.execute(
            select(t.c.message_id).where(t.c.message_id.in_(message_ids))
        )
        return set(found.scalars())

    async def record(
        self, message_id: str, kind: str, subject_id: str, at: datetime, subject: str | None = None
    ) -> None:
        await self._conn.execute(
            _record(self._conn.dialect.name),
            {
                "message_id": message_id,
                "kind": kind,
                "subject_id": subject_id,
                "sent_at": at,
                "subject": subject,
            },
        )
