"""``ebok migrate``: bring a database to the newest schema with Alembic."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from ebok.store.db import make_engine

MIGRATIONS = Path(__file__).with_name("migrations")


def _config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: command.upgrade(_config(sync), revision))


async def upgrade_url(url: str, revision: str = "head") -> None:
    engine = make_engine(url)
    try:
        await upgrade(engine, revision)
    finally:
        await engine.dispose()


async def autogenerate(url: str, message: str) -> None:
    """Write a new revision from the difference between the tables and the database."""
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(
                lambda sync: command.revision(_config(sync), message=message, autogenerate=True)
            )
    finally:
        await engine.dispose()
