"""Which Message-IDs were handed to the relay: makes a retried send a no-op."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ebok.store.dialect import insert_for
from ebok.store.tables import sent_mail as t


class SentMailRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def was_sent(self, message_id: str) -> bool:
        found = await self._conn.execute(select(t.c.message_id).where(t.c.message_id == message_id))
        return found.first() is not None

    async def sent_among(self, message_ids: list[str]) -> set[str]:
        """Those of ``message_ids`` already sent: one query for a page of notices."""
        found = await self._conn.execute(
            select(t.c.message_id).where(t.c.message_id.in_(message_ids))
        )
        return set(found.scalars())

    async def record_all(self, mails: list[SentMail]) -> None:
        await self._conn.execute(
            insert_for(self._conn)(t)
            .values(
                [
                    {
                        "message_id": m.message_id,
                        "kind": m.kind,
                        "subject_id": m.subject_id,
                        "sent_at": m.at,
                    }
                    for m in mails
                ]
            )
            .on_conflict_do_nothing(index_elements=[t.c.message_id])
        )


@dataclass(frozen=True)
class SentMail:
    message_id: str
    kind: str
    subject_id: str
    at: datetime


class SentMailLedger:
    """Records sent mails with a group commit: the records of sends that finish while a commit
    is under way go in together in the next one. Each caller still returns only once its own
    record is committed, so a retried activity never sends again what this has recorded; a
    storm of notices or a billing run costs the database a commit per batch, not per mail
    (on SQLite, where writers take turns, that is what the senders would queue for)."""

    def __init__(self, begin: Callable[[], AbstractAsyncContextManager[Any]]) -> None:
        self._begin = begin  # Store.begin: a unit of work with a ``mail`` repository
        self._waiting: list[tuple[SentMail, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(self, mail: SentMail) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((mail, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        await done  # a cancelled caller's record is still written with its batch

    async def _write(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                await self._commit([mail for mail, _ in batch])
            except (IntegrityError, DataError):
                # One record is at fault: each on its own, so only its caller sees the error.
                for mail, done in batch:
                    await self._settle(done, [mail])
            except Exception as e:  # the database is away: every caller waits and retries
                for _, done in batch:
                    if not done.done():
                        done.set_exception(e)
            else:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)

    async def _settle(self, done: asyncio.Future[None], mails: list[SentMail]) -> None:
        try:
            await self._commit(mails)
        except Exception as e:
            if not done.done():
                done.set_exception(e)
        else:
            if not done.done():
                done.set_result(None)

    async def _commit(self, mails: list[SentMail]) -> None:
        async with self._begin() as uow:
            await uow.mail.record_all(mails)
