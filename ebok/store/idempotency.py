"""First answers to requests sent with an idempotency key: claimed, completed or released."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ebok.store.dialect import insert_for
from ebok.store.tables import idempotency_keys as t

__all__ = ["Answer", "IdempotencyRepository", "Seen"]


@dataclass(frozen=True)
class Answer:
    status_code: int
    media_type: str
    body: bytes


@dataclass(frozen=True)
class Seen:
    """A key used before: for this request (same hash) or another, answered or still running."""

    request_hash: str
    answer: Answer | None


class IdempotencyRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def claim(
        self, service: str, key: str, request_hash: str, at: datetime, fresh_after: datetime
    ) -> Seen | None:
        """None if this call now owns the key (a use older than ``fresh_after`` is forgotten);
        else what the earlier use left."""
        where = (t.c.service == service, t.c.key == key)
        await self._conn.execute(delete(t).where(*where, t.c.created_at < fresh_after))
        # RETURNING, as rowcount of an INSERT comes back as -1 through async psycopg.
        made = await self._conn.execute(
            insert_for(self._conn)(t)
            .values(service=service, key=key, request_hash=request_hash, created_at=at)
            .on_conflict_do_nothing(index_elements=[t.c.service, t.c.key])
            .returning(t.c.key)
        )
        if made.first() is not None:
            return None
        row = (await self._conn.execute(select(t).where(*where))).one()
        answer = None
        if row.status_code is not None:
            answer = Answer(row.status_code, row.media_type or "", bytes(row.body or b""))
        return Seen(request_hash=row.request_hash, answer=answer)

    async def complete(self, service: str, key: str, answer: Answer) -> None:
        await self._conn.execute(
            update(t)
            .where(t.c.service == service, t.c.key == key)
            .values(status_code=answer.status_code, media_type=answer.media_type, body=answer.body)
        )

    async def release(self, service: str, key: str) -> None:
        """Forget a use that gave no answer to keep (it failed): a retry runs afresh."""
        await self._conn.execute(
            delete(t).where(t.c.service == service, t.c.key == key, t.c.status_code.is_(None))
        )

    async def purge(self, before: datetime) -> None:
        await self._conn.execute(delete(t).where(t.c.created_at < before))
