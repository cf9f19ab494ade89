"""SQLite's driver: one trip to the connection's thread per statement, none for the end of a
transaction that has nothing to end, and the same results and errors as the stock adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.sqlite_trips import stock_engine
from ebok.store.db import make_engine

TABLE = "CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT UNIQUE NOT NULL, v)"


async def _with_table(make: Callable[[str], AsyncEngine], file: Path) -> AsyncIterator[AsyncEngine]:
    engine = make(f"sqlite+aiosqlite:///{file}")
    async with engine.begin() as conn:
        await conn.execute(text(TABLE))
    yield engine
    await engine.dispose()


@pytest_asyncio.fixture(loop_scope="session")
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async for made in _with_table(make_engine, tmp_path / "driver.db"):
        yield made


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The names of the functions sent to a connection's thread, in order."""
    sent: list[str] = []
    real = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(getattr(fn, "__name__", repr(fn)))
        return await real(self, fn, *args, **kwargs)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    yield sent


async def test_a_read_and_a_write_take_one_trip_each_and_the_commit_one(
    engine: AsyncEngine, trips: list[str]
) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("SELECT v FROM t WHERE k = 'a'"))
        await conn.execute(text("INSERT INTO t (k, v) VALUES ('a', 1)"))
    # The stock adapter: cursor, execute, fetchall, close; cursor, execute, close; commit;
    # and the pool's rollback of the returned connection: nine.
    assert trips == ["_run", "_run", "commit"]


async def test_a_transaction_that_only_read_ends_without_a_trip(
    engine: AsyncEngine, trips: list[str]
) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("SELECT count(*) FROM t"))
    assert trips == ["_run"]


async def test_rows_column_names_rowcount_and_the_new_key(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO t (k, v) VALUES (:k, :v)"),
            [{"k": f"k{i}", "v": i} for i in range(300)],
        )
        inserted = await conn.execute(text("INSERT INTO t (k, v) VALUES ('last', NULL)"))
        assert inserted.lastrowid == 301
        changed = await conn.execute(text("UPDATE t SET v = v + 1 WHERE v >= 100"))
        assert changed.rowcount == 200
        result = await conn.execute(text("SELECT k, v AS value FROM t ORDER BY id"))
        assert list(result.keys()) == ["k", "value"]
        rows = result.all()
    assert len(rows) == 301
    assert rows[0] == ("k0", 0) and rows[150] == ("k150", 151) and rows[-1] == ("last", None)


async def test_an_error_rolls_the_transaction_back_and_the_connection_goes_on(
    engine: AsyncEngine,
) -> None:
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO t (k, v) VALUES ('x', 1)"))
            await conn.execute(text("INSERT INTO t (k, v) VALUES ('x', 2)"))
    with pytest.raises(OperationalError, match="no such table"):
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO t (k, v) VALUES ('y', 1)"))
            await conn.execute(text("SELECT * FROM missing"))
    async with engine.begin() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == 0
        await conn.execute(text("INSERT INTO t (k, v) VALUES ('x', 3)"))
    async with engine.begin() as conn:
        assert (await conn.execute(text("SELECT v FROM t"))).scalars().all() == [3]


async def test_a_block_that_raises_after_its_writes_leaves_nothing(engine: AsyncEngine) -> None:
    with pytest.raises(LookupError):
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO t (k, v) VALUES ('half', 1)"))
            raise LookupError("the caller's own error")
    async with engine.begin() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == 0


_VALUES = st.one_of(
    st.none(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    st.text(),
    st.binary(),
)


@pytest_asyncio.fixture(loop_scope="session")
async def stock(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async for made in _with_table(stock_engine, tmp_path / "stock.db"):
        yield made


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=st.lists(_VALUES, max_size=20))
async def test_values_come_back_as_from_the_stock_adapter(
    engine: AsyncEngine, stock: AsyncEngine, values: list[Any]
) -> None:
    read = []
    for each in (engine, stock):
        async with each.begin() as conn:
            await conn.execute(text("DELETE FROM t"))
            for i, value in enumerate(values):
                await conn.execute(
                    text("INSERT INTO t (k, v) VALUES (:k, :v)"), {"k": str(i), "v": value}
                )
            rows = (await conn.execute(text("SELECT k, v, typeof(v) FROM t ORDER BY id"))).all()
        read.append([tuple(r) for r in rows])
    assert read[0] == read[1]
    assert [r[1] for r in read[0]] == values
