"""What differs between SQLite and PostgreSQL, in one place."""

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


def insert_for(conn: AsyncConnection) -> Any:
    """The dialect's ``insert``, which has ``on_conflict_do_nothing/do_update`` on both."""
    return insert_of(conn.dialect.name)


def insert_of(dialect: str) -> Any:
    """:func:`insert_for` by the dialect's name, for a statement built once per dialect."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert
