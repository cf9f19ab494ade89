"""Engine set-up and the unit of work: one transaction per activity, rolled back on error."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from ebok.settings import DATABASE_POOL_SIZE, Settings
from ebok.store.accounts import AccountRepository
from ebok.store.api_keys import ApiKeyRepository
from ebok.store.billing import BillingRepository
from ebok.store.consents import ConsentRepository
from ebok.store.idempotency import IdempotencyRepository
from ebok.store.invoices import InvoiceRepository
from ebok.store.letters import PaperRepository, SuspensionRepository
from ebok.store.mail import SentMailRepository
from ebok.store.outages import OutageRepository
from ebok.store.registrations import RegistrationRepository
from ebok.store.sqlite_driver import OneTripDbapi
from ebok.store.tokens import TokenRepository

__all__ = ["Store", "UnitOfWork", "make_engine"]

# The stores (by id) a task, and the tasks it starts, has a transaction open in.
_OPEN: ContextVar[frozenset[int]] = ContextVar("ebok_store_open", default=frozenset())


def make_engine(url: str, pool_size: int = DATABASE_POOL_SIZE, **kwargs: Any) -> AsyncEngine:
    """An async engine. SQLite gets WAL, a busy timeout and one connection per process;
    PostgreSQL ``pool_size`` connections, each checked before use.

    SQLite lets one writer at a time into the file. With a pool, each of a process's
    connections waited for the file's lock on its own, in SQLite's busy handler, which sleeps
    up to 100 ms between tries: during an outage storm a report waited 1 s at p95 and 2 s at
    p99 for its one insert. With one connection, a process's transactions queue in order for
    it (no sleeping), and one per process waits at the file: the report's p95 380–490 ms and
    p99 430–710 ms over four runs, its workflow start included (``python -m bench storm``).
    The driver (``sqlite_driver``) makes one trip to the connection's thread per statement,
    so a transaction holds that connection for as few turns of the event loop as it can."""
    if url.startswith("sqlite"):
        kwargs.setdefault("module", OneTripDbapi())  # another DB-API module for a comparison
        engine = create_async_engine(
            url, connect_args={"timeout": 30}, pool_size=1, max_overflow=0, **kwargs
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn: Any, _: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    # PostgreSQL: ``pool_size`` connections, kept open once made. With a smaller pool and an
    # overflow, every connection beyond the pool's size is closed when it is returned and
    # made again at the next busy moment: during an outage storm (50 reports in flight) the
    # facade made 203 connections for 1,011 transactions, each a backend process started by
    # the server; at 30 and no overflow it made 31, and the report's transaction took 32 ms
    # on average instead of 47 (p90 73 ms instead of 133).
    return create_async_engine(
        url, pool_size=pool_size, max_overflow=0, pool_pre_ping=True, **kwargs
    )


class UnitOfWork:
    """The repositories of one open transaction."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.registrations = RegistrationRepository(conn)
        self.accounts = AccountRepository(conn)
        self.tokens = TokenRepository(conn)
        self.mail = SentMailRepository(conn)
        self.billing = BillingRepository(conn)
        self.consents = ConsentRepository(conn)
        self.invoices = InvoiceRepository(conn)
        self.paper = PaperRepository(conn)
        self.suspensions = SuspensionRepository(conn)
        self.outages = OutageRepository(conn)
        self.api_keys = ApiKeyRepository(conn)
        self.idempotency = IdempotencyRepository(conn)


class Store:
    """The database behind the activities and the client facade."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @classmethod
    def from_url(cls, url: str, pool_size: int = DATABASE_POOL_SIZE) -> Store:
        return cls(make_engine(url, pool_size))

    @classmethod
    def from_settings(cls, settings: Settings) -> Store:
        return cls.from_url(settings.database_url, settings.database_pool_size)

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[UnitOfWork]:
        """Commits when the block ends normally; rolls back if it raises.

        One at a time per task: a transaction opened inside another would not be part of it,
        and on SQLite, with one connection per process, would wait for it for ever."""
        open_here = _OPEN.get()
        if id(self) in open_here:
            raise RuntimeError("a store transaction opened inside another of the same store")
        token = _OPEN.set(open_here | {id(self)})
        try:
            async with self.engine.begin() as conn:
                yield UnitOfWork(conn)
        finally:
            _OPEN.reset(token)

    async def aclose(self) -> None:
        await self.engine.dispose()
