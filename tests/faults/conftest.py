"""Fixtures of the fault-injection tests and the one-line summary of what they injected."""

from __future__ import annotations

import os
import random
import socket
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy.engine import make_url

from ebok.store.db import Store
from ebok.store.migrate import upgrade
from tests.faults.mailbox import CountingSmtpServer
from tests.faults.tcp_proxy import TcpProxy


@dataclass
class FaultLedger:
    """What the fault tests ran and injected, and what went missing or arrived twice."""

    workflows: int = 0
    faults: int = 0
    lost: int = 0
    duplicated: int = 0
    notes: list[str] = field(default_factory=list)
    # Worker kills, and per kill the mails sent again because of it.
    kill_duplicates: list[int] = field(default_factory=list)

    def add(
        self,
        *,
        workflows: int,
        faults: int,
        lost: int,
        duplicated: int,
        note: str,
        kill_duplicates: Sequence[int] = (),
    ) -> None:
        self.workflows += workflows
        self.faults += faults
        self.lost += lost
        self.duplicated += duplicated
        self.kill_duplicates.extend(kill_duplicates)
        self.notes.append(note)
        print(note)

    def line(self) -> str:
        line = (
            f"faults: {self.workflows} workflows run, {self.faults} faults injected, "
            f"{self.lost} lost, {self.duplicated} duplicated"
        )
        if self.kill_duplicates:
            line += f"; worker kills: {per_kill(self.kill_duplicates)}"
        return line


def per_kill(duplicates: Sequence[int]) -> str:
    """E.g. "duplicates 2 over 3 kills (max 1 per kill)", from each kill's count."""
    return (
        f"duplicates {sum(duplicates)} over {len(duplicates)} kills"
        f" (max {max(duplicates, default=0)} per kill)"
    )


LEDGER = pytest.StashKey[FaultLedger]()


@pytest.fixture(scope="session")
def ledger(request: pytest.FixtureRequest) -> FaultLedger:
    return request.config.stash.setdefault(LEDGER, FaultLedger())


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    found = config.stash.get(LEDGER, None)
    if found is None or not found.notes:
        return
    terminalreporter.section("fault injection")
    for note in found.notes:
        terminalreporter.write_line(note)
    terminalreporter.write_line(found.line())


def fault_seed() -> int:
    """The seed of a test's random plan; ``FAULTS_SEED=<printed seed>`` plans the same again
    (which faults, where and when; not the scheduling of the machine)."""
    given = os.environ.get("FAULTS_SEED")
    return int(given) if given else random.randrange(2**32)


def free_port() -> int:
    """A port nothing listens on now (the caller binds it soon after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def migrated_store(url: str) -> Store:
    store = Store.from_url(url)
    try:
        await upgrade(store.engine)
    except BaseException:
        await store.aclose()
        raise
    return store


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite file of this test's own (the worker may be another process)."""
    return f"sqlite+aiosqlite:///{tmp_path / 'ebok.db'}"


@pytest_asyncio.fixture(loop_scope="session")
async def sqlite_store(sqlite_url: str) -> AsyncIterator[Store]:
    store = await migrated_store(sqlite_url)
    yield store
    await store.aclose()


@pytest_asyncio.fixture(loop_scope="session")
async def pg_store(postgres_database: str) -> AsyncIterator[Store]:
    """Direct to PostgreSQL: the facade's and the checks' view (the portal is not cut off)."""
    store = await migrated_store(postgres_database)
    yield store
    await store.aclose()


@pytest_asyncio.fixture(loop_scope="session")
async def pg_proxy(postgres_database: str) -> AsyncIterator[TcpProxy]:
    """Between a worker and PostgreSQL, to cut the connection and bring it back."""
    url = make_url(postgres_database)
    async with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        yield proxy


@pytest_asyncio.fixture(loop_scope="session")
async def relay() -> AsyncIterator[CountingSmtpServer]:
    server = CountingSmtpServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
