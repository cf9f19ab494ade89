"""What differs between SQLite and PostgreSQL, in one place."""

from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


def insert_for(conn: AsyncConnection) -> Any:
    """The dialect's ``insert``, which has ``on_conflict_do_nothing/do_update`` on both."""
    return insert_of(conn.dialect.name)


def insert_of(dialect: str) -> Any:
    """:func:`insert_for` by the dialect's name, for a statement built once per dialect."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


async def serialize_on(conn: AsyncConnection, name: str) -> None:
    """Rival transactions that call this with the same ``name`` go one after the other from
    here to their end. PostgreSQL: a transaction-scoped advisory lock. SQLite lets one writer
    in at a time, so a transaction that has written is serialized already: call this after
    the transaction's first write."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": name})
