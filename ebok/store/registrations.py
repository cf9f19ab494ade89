"""Registrations in progress: the personal data the workflow must not carry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ebok.store.tables import bound
from ebok.store.tables import registrations as t

__all__ = ["RegistrationRecord", "RegistrationRepository"]


@dataclass(frozen=True)
class RegistrationRecord:
    id: str
    email: str | None
    login: str | None
    password_hash: str | None
    language: str
    status: str
    terms_version: str | None
    terms_accepted_at: datetime | None
    created_at: datetime


# Built once: every registration runs these (in the facade, where they are most of its
# own work besides the password hash).
_ADDED = ("id", "email", "login", "language", "status", "created_at")
_ADD = t.insert().values(bound(t, _ADDED))
_GET = select(*(t.c[f] for f in RegistrationRecord.__dataclass_fields__)).where(
    t.c.id == bindparam("id")
)
_SET_CREDENTIALS = (
    update(t)
    .where(
        t.c.id == bindparam("the_id"),
        t.c.status == bindparam("when_status"),
        t.c.purged_at.is_(None),
    )
    .values(
        password_hash=bindparam("new_hash", type_=t.c.password_hash.type),
        terms_version=bindparam("new_terms", type_=t.c.terms_version.type),
        terms_accepted_at=bindparam("at", type_=t.c.terms_accepted_at.type),
    )
)


class RegistrationRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(
        self, id: str, email: str, login: str, language: str, status: str, at: datetime
    ) -> None:
        await self._conn.execute(
            _ADD,
            dict(id=id, email=email, login=login, language=language, status=status, created_at=at),
        )

    async def get(self, id: str) -> RegistrationRecord | None:
        row = (await self._conn.execute(_GET, {"id": id})).mappings().one_or_none()
        return RegistrationRecord(**row) if row else None

    async def set_credentials(
        self, id: str, password_hash: str, terms_version: str, at: datetime, *, when_status: str
    ) -> bool:
        """Store step 2 only while the registration waits for it; False otherwise."""
        done = await self._conn.execute(
            _SET_CREDENTIALS,
            {
                "the_id": id,
                "when_status": when_status,
                "new_hash": password_hash,
                "new_terms": terms_version,
                "at": at,
            },
        )
        return done.rowcount == 1

    async def clear_credentials(self, id: str) -> None:
        await self._conn.execute(
            update(t)
            .where(t.c.id == id)
            .values(password_hash=None, terms_version=None, terms_accepted_at=None)
        )

    async def set_status(self, id: str, status: str, closed_at: datetime | None = None) -> None:
        values: dict[str, object] = {"status": status}
        if closed_at is not None:
            values["closed_at"] = closed_at
        await self._conn.execute(update(t).where(t.c.id == id).values(**values))

    async def purge(self, id: str, at: datetime) -> None:
        """Forget the person: only the id, language, outcome and dates remain."""
        await self._conn.execute(
            update(t)
            .where(t.c.id == id)
            .values(email=None, login=None, password_hash=None, purged_at=at)
        )

    async def delete(self, id: str) -> None:
        """Undo step 1 when the workflow could not be started (nothing half-written)."""
        await self._conn.execute(t.delete().where(t.c.id == id))
