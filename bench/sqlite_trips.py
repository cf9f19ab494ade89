"""``python -m bench.sqlite_trips --n 3000``: SQLite transactions through our driver and
through SQLAlchemy's stock aiosqlite adapter, in one run.

Each transaction is the shape of the facade's busiest one (the outage report): a read by a
unique key, then an insert, committed. ``--concurrency`` of them run at once in one process,
on an engine with one connection (as ``make_engine`` makes for SQLite), so they queue for it
as the facade's do. Figures per side: transactions a second, CPU ms a transaction, and the
trips to the connection's thread a transaction makes; then the ratio ours/stock.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy import text
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from ebok.store.db import make_engine

TABLE = text("CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT UNIQUE, v)")
READ = text("SELECT v FROM t WHERE k = :k")
WRITE = text("INSERT INTO t (k, v) VALUES (:k, :v)")


def stock_engine(url: str) -> AsyncEngine:
    """``make_engine``'s SQLite engine (one connection, the same pragmas) on the stock adapter."""
    return make_engine(url, module=SQLiteDialect_aiosqlite.import_dbapi())


async def _side(make: Callable[[str], AsyncEngine], n: int, concurrency: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="ebok-bench-sqlite-") as folder:
        engine = make(f"sqlite+aiosqlite:///{Path(folder) / 'trips.db'}")
        try:
            async with engine.begin() as conn:
                await conn.execute(TABLE)
            gate = asyncio.Semaphore(concurrency)
            trips = 0
            real = aiosqlite.Connection._execute

            async def counted(self: aiosqlite.Connection, fn: Any, *a: Any, **kw: Any) -> Any:
                nonlocal trips
                trips += 1
                return await real(self, fn, *a, **kw)  # type: ignore[no-untyped-call]

            async def one(i: int) -> None:
                async with gate, engine.begin() as conn:
                    (await conn.execute(READ, {"k": f"k{i - 1}"})).all()
                    await conn.execute(WRITE, {"k": f"k{i}", "v": "x" * 50})

            aiosqlite.Connection._execute = counted  # type: ignore[method-assign]
            try:
                wall, cpu = time.perf_counter(), time.process_time()
                await asyncio.gather(*(one(i) for i in range(n)))
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            finally:
                aiosqlite.Connection._execute = real  # type: ignore[method-assign]
        finally:
            await engine.dispose()
    return {"tx/s": n / wall, "CPU ms/tx": 1000 * cpu / n, "trips/tx": trips / n}


async def _run(n: int, concurrency: int) -> None:
    ours = await _side(make_engine, n, concurrency)
    stock = await _side(stock_engine, n, concurrency)
    print(f"sqlite, n={n}, concurrency {concurrency}: read + insert + commit per transaction")
    print(f"{'':16}{'ours':>10}{'stock':>10}{'ours/stock':>12}")
    for key in ours:
        print(f"{key:16}{ours[key]:>10.2f}{stock[key]:>10.2f}{ours[key] / stock[key]:>11.2f}x")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.sqlite_trips", description=__doc__)
    p.add_argument("--n", type=int, default=3000, help="transactions per side")
    p.add_argument("--concurrency", type=int, default=50, help="transactions at once")
    args = p.parse_args(argv)
    if args.n < 1 or args.concurrency < 1:
        p.error("--n and --concurrency must be at least 1")
    asyncio.run(_run(args.n, args.concurrency))


if __name__ == "__main__":
    main()
