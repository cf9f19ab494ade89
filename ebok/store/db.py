"""Engine set-up and the unit of work: one transaction per activity, rolled back on error."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import datetime
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
from ebok.store.letters import PaperRepository, PostalLetterRepository, SuspensionRepository
from ebok.store.mail import SentMailRepository
from ebok.store.outages import OutageRepository
from ebok.store.profiles import EmailChangeRepository, OutboxRepository, ProfileRepository
from ebok.store.registrations import RegistrationRepository
from ebok.store.rodo import RodoConsentRepository
from ebok.store.sign_in import SignInRepository
from ebok.store.tokens import TokenRepository

__all__ = ["SQLITE_POOL_SIZE", "Store", "UnitOfWork", "make_engine", "make_log_engine"]

SQLITE_BUSY_TIMEOUT_MS = 30_000
# SQLite's connections per engine. SQLite lets one writer at a time into the file, and its
# busy handler sleeps up to 100 ms between tries, unfair to whoever waits longest. With one
# connection, a process's transactions queue in order for it (no sleeping), one per process
# waits at the file, and the sent-mail log's own connection (make_log_engine) competes with
# that one only: its record took p95 46 ms and p99 73 ms beside 20 tasks of transactions,
# against 170 ms and 1.55 s with a pool of five (python -m bench.mail_record, load 7 on two
# cores). An outage storm's report, measured with an earlier SQLite driver: p95 380–490 ms
# and p99 430–710 ms with one, 1 s and 2 s with a pool (python -m bench storm). The price:
# every transaction of a process waits for the one before, so a loaded process queues (the
# pool's timeout is 30 s).
SQLITE_POOL_SIZE = 1

# The stores (by id) a task, and the tasks it starts, has a transaction open in.
_OPEN: ContextVar[frozenset[int]] = ContextVar("ebok_store_open", default=frozenset())


def make_engine(url: str, pool_size: int = DATABASE_POOL_SIZE, **kwargs: Any) -> AsyncEngine:
    """An async engine: SQLite through SQLAlchemy's ``sqlite+aiosqlite`` dialect, with WAL, a
    busy timeout, foreign keys and at most :data:`SQLITE_POOL_SIZE` connections; PostgreSQL
    with ``pool_size`` connections, each checked before use."""
    if url.startswith("sqlite"):
        # sqlite3's own transaction handling is kept: it opens a transaction at the first
        # write, so the reads before it hold no snapshot, and a write behind another
        # connection's waits for the lock in the busy handler. From a snapshot (a BEGIN at
        # the first read) SQLite refuses it at once, "database is locked"; a BEGIN IMMEDIATE
        # instead would queue reads at the file too. tests/store/test_sqlite_locking.py.
        engine = create_async_engine(
            url, pool_size=min(pool_size, SQLITE_POOL_SIZE), max_overflow=0, **kwargs
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # PostgreSQL: ``pool_size`` connections, kept open once made. With a smaller pool and an
    # overflow, every connection beyond the pool's size is closed when it is returned and
    # made again at the next busy moment: during an outage storm (50 reports in flight) the
    # facade made 203 connections for 1,011 transactions, each a backend process started by
    # the server; at 30 and no overflow it made 31, and the report's transaction took 32 ms
    # on average instead of 47 (p90 73 ms instead of 133).
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, pool_size=pool_size, max_overflow=0, **kwargs)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    """Every new SQLite connection: a writer waits up to 30 s for the file's lock instead of
    failing at once (set first: turning WAL on may wait for it too), readers go on beside
    the writer (WAL), and foreign keys are enforced (SQLite's default leaves them off)."""
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def make_log_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """One connection in autocommit, kept for the sent-mail log (:meth:`Store.record_sent`):
    a record there waits for no other transaction of the process, only, on SQLite, for the
    file's lock while another writer holds it. Not checked before use, one round trip
    fewer: a record on a dead connection fails, the pool drops it, and the caller tries
    again on a new one."""
    return make_engine(
        url, pool_size=1, isolation_level="AUTOCOMMIT", pool_pre_ping=False, **kwargs
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
        self.letters = PostalLetterRepository(conn)
        self.outages = OutageRepository(conn)
        self.api_keys = ApiKeyRepository(conn)
        self.idempotency = IdempotencyRepository(conn)
        self.sign_in = SignInRepository(conn)
        self.profiles = ProfileRepository(conn)
        self.email_changes = EmailChangeRepository(conn)
        self.rodo = RodoConsentRepository(conn)
        self.billing_outbox = OutboxRepository(conn)


class Store:
    """The database behind the activities and the client facade."""

    def __init__(self, engine: AsyncEngine, log_engine: AsyncEngine) -> None:
        """``log_engine`` (see :func:`make_log_engine`) takes the sent-mail records."""
        self.engine = engine
        self.log_engine = log_engine

    @classmethod
    def from_url(cls, url: str, pool_size: int = DATABASE_POOL_SIZE) -> Store:
        return cls(make_engine(url, pool_size), make_log_engine(url))

    @classmethod
    def from_settings(cls, settings: Settings) -> Store:
        return cls.from_url(settings.database_url, settings.database_pool_size)

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[UnitOfWork]:
        """Commits when the block ends normally; rolls back if it raises.

        One at a time per task: a transaction opened inside another would not be part of it,
        and could wait for it for ever (for a connection of the pool, or on SQLite for the
        file's lock)."""
        open_here = _OPEN.get()
        if id(self) in open_here:
            raise RuntimeError("a store transaction opened inside another of the same store")
        token = _OPEN.set(open_here | {id(self)})
        try:
            async with self.engine.begin() as conn:
                yield UnitOfWork(conn)
        finally:
            _OPEN.reset(token)

    async def record_sent(
        self,
        message_id: str,
        kind: str,
        subject_id: str,
        at: datetime,
        subject: str | None = None,
    ) -> None:
        """Record that the relay accepted ``message_id``, committed before this returns.

        A mail is sent again if its worker dies between the relay's acceptance and this
        commit, so the record takes no turn behind the process's other transactions: it is
        one statement on a connection of its own, committed as it runs."""
        async with self.log_engine.connect() as conn:
            await SentMailRepository(conn).record(message_id, kind, subject_id, at, subject)

    async def aclose(self) -> None:
        try:
            await self.engine.dispose()
        finally:
            await self.log_engine.dispose()
