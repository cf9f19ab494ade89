"""SQLite through aiosqlite with one trip to the connection's thread per statement.

SQLAlchemy's aiosqlite adapter makes a trip to the connection's thread and back for every
call of the DB-API: a SELECT is four (open a cursor, execute, fetch, close), a write three, a
transaction's end one more for the commit and one for the rollback with which the pool
resets every returned connection. Each trip back waits for the event loop's turn, and with
one connection per process (``make_engine``) every other transaction of the process waits
behind them. Here a statement's whole cursor life is one trip, and a commit or rollback of a
connection with no transaction open (a read, or a connection the commit has already ended)
makes none.

What is used of the two libraries beyond their documented API: aiosqlite's
``Connection._execute`` (runs a function in the connection's thread) and ``_conn`` (the
``sqlite3`` connection it owns), and SQLAlchemy's adapter classes that the stock dialect is
built of. pyproject pins both libraries to the minor versions this was written against, and
``tests/store/test_sqlite_driver.py`` fails if either changes under it.
"""

from __future__ import annotations

import collections
import sqlite3
from typing import Any, cast

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

__all__ = ["OneTripDbapi"]

_Outcome = tuple[Any, int, int | None, list[Any]]


def _run(conn: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> _Outcome:
    """In the connection's thread: the whole life of one cursor."""
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


def _aiosqlite(connection: object) -> aiosqlite.Connection:
    return cast(aiosqlite.Connection, connection)


class _Cursor(AsyncAdapt_aiosqlite_cursor):
    """A client-side cursor holding the outcome of its last statement; no thread-side cursor
    stays open between calls."""

    __slots__ = ("_description", "_rowcount", "_lastrowid", "_arraysize")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        # Not the parent's __init__: that opens a cursor in the thread, one trip.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> Any:
        return self._lastrowid

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    async def _async_soft_close(self) -> None:
        return None  # nothing is open in the thread

    def close(self) -> None:
        self._rows.clear()

    def execute(self, operation: Any, parameters: Any = None) -> None:
        self._call(operation, parameters, many=False)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> None:
        self._call(operation, seq_of_parameters, many=True)

    def _call(self, operation: Any, parameters: Any, *, many: bool) -> None:
        try:
            await_(self._one_trip(operation, parameters, many))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    async def _one_trip(self, operation: Any, parameters: Any, many: bool) -> None:
        async with self._adapt_connection._execute_mutex:
            conn = _aiosqlite(self._connection)
            outcome: _Outcome = await conn._execute(  # type: ignore[no-untyped-call]
                _run, conn._conn, operation, parameters, many
            )
        self._description, self._rowcount, self._lastrowid, rows = outcome
        self._rows = collections.deque(rows)


class _Connection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = _Cursor  # type: ignore[assignment]  # a subclass of the declared one

    def _in_transaction(self) -> bool:
        # sqlite3 reads its autocommit flag without the thread check; no statement of this
        # connection runs meanwhile, as the pool lends it to one holder at a time. A closed
        # connection goes the stock way, which knows what to do with it.
        conn = _aiosqlite(self._connection)
        return conn._connection is None or conn.in_transaction

    def commit(self) -> None:
        if self._in_transaction():
            super().commit()

    def rollback(self) -> None:
        if self._in_transaction():
            super().rollback()


class OneTripDbapi(AsyncAdapt_aiosqlite_dbapi):
    """The DB-API module for ``create_async_engine(..., module=OneTripDbapi())``."""

    def __init__(self) -> None:
        super().__init__(aiosqlite, sqlite3)

    def connect(self, *arg: Any, **kw: Any) -> _Connection:
        stock = super().connect(*arg, **kw)
        return _Connection(self, stock._connection)
