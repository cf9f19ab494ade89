"""The migrations build exactly the tables the code declares: a column, index or constraint
added to ``ebok/store/tables.py`` without its migration (or the other way round) fails here."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from ebok.store.db import Store
from ebok.store.tables import metadata


async def test_migrated_database_matches_the_tables(store: Store) -> None:
    def differences(sync: Any) -> list[Any]:
        context = MigrationContext.configure(sync, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    async with store.engine.connect() as conn:
        diff = await conn.run_sync(differences)
    assert diff == []
