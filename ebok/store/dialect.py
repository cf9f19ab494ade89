"""What differs between SQLite and PostgreSQL, in one place."""

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


def insert_for(conn: AsyncConnection) -> Any:
    """The dialect's ``insert``, which has ``on_conflict_do_nothing/do_update`` on both."""
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
