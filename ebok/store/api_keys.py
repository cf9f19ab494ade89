"""API keys of calling services: kept as SHA-256 digests, revoked by a timestamp, never deleted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import RowMapping, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ebok.store.dialect import serialize_on
from ebok.store.tables import api_keys as t

__all__ = ["ApiKey", "ApiKeyRepository"]

# Built once: every API request asks it.
_BY_HASH = select(t).where(t.c.key_hash == bindparam("key_hash"), t.c.revoked_at.is_(None))


@dataclass(frozen=True)
class ApiKey:
    id: str
    service: str
    scopes: frozenset[str]
    created_at: datetime
    revoked_at: datetime | None


def _key(m: RowMapping) -> ApiKey:
    return ApiKey(
        id=m["id"],
        service=m["service"],
        scopes=frozenset(s for s in m["scopes"].split(",") if s),
        created_at=m["created_at"],
        revoked_at=m["revoked_at"],
    )


class ApiKeyRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(
        self, key_id: str, service: str, scopes: frozenset[str], key_hash: str, at: datetime
    ) -> None:
        await self._conn.execute(
            t.insert().values(
                id=key_id,
                service=service,
                scopes=",".join(sorted(scopes)),
                key_hash=key_hash,
                created_at=at,
            )
        )

    async def in_force(self, key_hash: str) -> ApiKey | None:
        row = (await self._conn.execute(_BY_HASH, {"key_hash": key_hash})).mappings().first()
        return _key(row) if row is not None else None

    async def lock_service(self, service: str) -> None:
        """Rival :meth:`add` + :meth:`count_in_force` pairs for one service run one after the
        other from here (call it after :meth:`add`, so SQLite's writer lock is held)."""
        await serialize_on(self._conn, f"api_keys:{service}")

    async def count_in_force(self, service: str) -> int:
        found = await self._conn.execute(
            select(func.count())
            .select_from(t)
            .where(t.c.service == service, t.c.revoked_at.is_(None))
        )
        return int(found.scalar_one())

    async def all(self) -> list[ApiKey]:
        rows = await self._conn.execute(select(t).order_by(t.c.service, t.c.created_at))
        return [_key(row) for row in rows.mappings()]

    async def revoke(self, key_id: str, at: datetime) -> bool:
        """False if there is no such key or it was revoked already."""
        done = await self._conn.execute(
            update(t).where(t.c.id == key_id, t.c.revoked_at.is_(None)).values(revoked_at=at)
        )
        return done.rowcount == 1
