"""``python -m bench.mail_record --db sqlite|postgres``: how long the record of a sent mail
takes while the process's other transactions keep the store busy.

A mail whose worker dies after the relay accepted it and before its record is committed is
sent again by the retried activity, so this time is the window of a duplicate per kill.
Two ways, interleaved under the same load: ``own`` is :meth:`Store.record_sent` (one
statement on a connection of its own, in autocommit); ``queued`` is the record as one more
transaction of the store, which on SQLite waits for the process's one connection.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from bench.harness import DEFAULT_POSTGRES
from ebok.store.db import Store
from ebok.store.migrate import upgrade

Record = Callable[[Store, str], Awaitable[None]]


async def own(store: Store, mid: str) -> None:
    await store.record_sent(mid, "bench", "s", datetime.now(UTC))


async def queued(store: Store, mid: str) -> None:
    async with store.begin() as uow:
        await uow.mail.record(mid, "bench", "s", datetime.now(UTC))


async def activity_like(store: Store, stop: asyncio.Event) -> None:
    """Transactions one after another, as an activity's: a read, a write, a read."""
    while not stop.is_set():
        mid = f"<busy.{uuid.uuid4().hex}@bench>"
        async with store.begin() as uow:
            await uow.mail.was_sent(mid)
            await uow.mail.record(mid, "busy", "s", datetime.now(UTC))
            await uow.mail.sent_among([mid])


@asynccontextmanager
async def database(kind: str, postgres_url: str) -> AsyncIterator[str]:
    """A fresh, migrated database, dropped afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite+aiosqlite:///{Path(folder) / 'record.db'}"
        return
    name = f"ebok_bench_record_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        base = postgres_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def run(kind: str, n: int, busy: int, pool: int, postgres_url: str) -> dict[str, list[float]]:
    """``n`` records each way, alternating, beside ``busy`` tasks of transactions."""
    taken: dict[str, list[float]] = {"own": [], "queued": []}
    ways: dict[str, Record] = {"own": own, "queued": queued}
    async with database(kind, postgres_url) as url:
        store = Store.from_url(url, pool_size=pool)
        stop = asyncio.Event()
        try:
            await upgrade(store.engine)
            load = [asyncio.create_task(activity_like(store, stop)) for _ in range(busy)]
            for i in range(n):
                for name, record in ways.items():
                    started = time.perf_counter()
                    await record(store, f"<{name}.{i}.{uuid.uuid4().hex}@bench>")
                    taken[name].append(time.perf_counter() - started)
            stop.set()
            await asyncio.gather(*load)
        finally:
            await store.aclose()
    return taken


def _ms(values: list[float], q: float) -> str:
    return f"{sorted(values)[min(len(values) - 1, int(q * len(values)))] * 1000:.1f}"


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.mail_record", description=__doc__)
    p.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--n", type=int, default=300, help="records each way")
    p.add_argument("--busy", type=int, default=20, help="tasks running transactions meanwhile")
    p.add_argument("--pool", type=int, default=10, help="PostgreSQL connections of the store")
    p.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    args = p.parse_args()
    taken = asyncio.run(run(args.db, args.n, args.busy, args.pool, args.postgres_url))
    pool = f", a pool of {args.pool}" if args.db == "postgres" else ""
    print(
        f"record of a sent mail, {args.db}{pool}, {args.busy} tasks of transactions beside it"
        f" (ms, {args.n} each way)"
    )
    for name, values in taken.items():
        print(
            f"  {name:7} p50 {statistics.median(values) * 1000:.1f}  p95 {_ms(values, 0.95)}"
            f"  p99 {_ms(values, 0.99)}  max {max(values) * 1000:.1f}"
        )


if __name__ == "__main__":
    main()
