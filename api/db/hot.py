"""Hot-path statements: SQL with `:named` parameters, run on the asyncpg connection under a session.

What this module holds: `Sql` (a statement kept for both layers), `execute` / `executemany` /
`fetchrow` (in the unit of work's transaction), `fetchrow_committed` (one autocommit read on a
pooled driver connection, for the canonical status read) and `execute_committed` (one write in a
transaction of its own, for the notification worker's per-delivery outcome). Only repository
functions call them.

SQLAlchemy adds about 0.1 ms of CPU to every statement on top of asyncpg (`bench/README.md`), and
a webhook runs about ten statements per event, so the webhook path's fixed statements go straight
to the driver. Everything else keeps using the session.

A hot statement runs in the session's transaction, after the session's pending ORM changes are
flushed (as an ORM query would autoflush them). SQLAlchemy begins a transaction lazily, at its first
statement; a hot statement that would come first runs through SQLAlchemy instead, so it begins it.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.util import greenlet_spawn

from api.db.failures import is_connection_failure

_PARAMETER = re.compile(r"(?<![:\w\x5c]):(\w+)(?![:\w])")  # SQLAlchemy's rule for text() (no `\:` escapes here)


class Sql:
    """One statement, kept both ways: positional for asyncpg and as a SQLAlchemy `text()`."""

    def __init__(self, sql: str) -> None:
        self.names: list[str] = []

        def number(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in self.names:
                self.names.append(name)
            return f"${self.names.index(name) + 1}"

        self.positional = _PARAMETER.sub(number, sql)
        self.clause: TextClause = text(sql)

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        return [params[name] for name in self.names]


async def _driver(session: AsyncSession) -> Any | None:
    """The asyncpg connection, or None while the session's transaction has not begun on the server."""
    if session.new or session.dirty or session.deleted:
        await session.flush()
    raw = (await (await session.connection()).get_raw_connection()).driver_connection
    return raw if raw is not None and raw.is_in_transaction() else None


async def execute(session: AsyncSession, sql: Sql, params: Mapping[str, Any]) -> None:
    if (driver := await _driver(session)) is None:
        await session.execute(sql.clause, params)
    else:
        await driver.execute(sql.positional, *sql.args(params))


async def fetchrow(session: AsyncSession, sql: Sql, params: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The first row (by column name), or None."""
    if (driver := await _driver(session)) is None:
        row = (await session.execute(sql.clause, params)).mappings().first()
        return None if row is None else dict(row)
    record = await driver.fetchrow(sql.positional, *sql.args(params))
    return None if record is None else dict(record)


async def executemany(session: AsyncSession, sql: Sql, rows: Sequence[Mapping[str, Any]]) -> None:
    if (driver := await _driver(session)) is None:
        await session.execute(sql.clause, list(rows))
    else:
        await driver.executemany(sql.positional, [sql.args(row) for row in rows])


async def fetchrow_committed(session: AsyncSession, sql: Sql, params: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """One read of committed data, outside the unit of work: on a pooled driver connection in autocommit
    (no BEGIN/COMMIT round trips, no SQLAlchemy layer). Call it before the unit of work has written
    anything it should see; it is the status read's first and usually only statement."""
    engine = session.bind
    assert isinstance(engine, AsyncEngine)  # the app's sessions are bound to its engine
    async with _pooled_driver(engine) as connection:
        record = await connection.fetchrow(sql.positional, *sql.args(params))
    return None if record is None else dict(record)


async def execute_committed(session: AsyncSession, sql: Sql, params: Mapping[str, Any], *, wait_for_disk: bool) -> None:
    """One write in a transaction of its own, on a pooled driver connection, outside the unit of work: three
    round trips (BEGIN with its settings, the statement, COMMIT) and no SQLAlchemy layer. Without
    `wait_for_disk` the commit does not wait for its WAL flush (`synchronous_commit = off` for this transaction
    only): visible at once, durable a moment later; a crash of the server itself may forget it."""
    engine = session.bind
    assert isinstance(engine, AsyncEngine)  # the app's sessions are bound to its engine
    async with _pooled_driver(engine) as connection:
        await connection.execute("begin" if wait_for_disk else "begin; set local synchronous_commit = off")
        try:
            await connection.execute(sql.positional, *sql.args(params))
        except BaseException:
            if not connection.is_closed():
                await connection.execute("rollback")
            raise
        await connection.execute("commit")


@asynccontextmanager
async def _pooled_driver(engine: AsyncEngine) -> AsyncIterator[Any]:
    """The pooled asyncpg connection itself, checked out without an `AsyncConnection` around it (half
    the client CPU of a status read's round trip). SQLAlchemy never sees what runs here, so it cannot
    notice a lost server: a connection found closed, or failing as an unusable one does (`failures.py`:
    e.g. one that read the server's shutdown message but is not closed yet), is invalidated here, and
    the pool with it (its other connections predate the loss too), as SQLAlchemy does when its own
    statements meet a disconnect. Otherwise a restarted server would be answered 503 by every read, for ever, as long as
    only these paths ran."""
    pooled = await engine.raw_connection()
    connection = pooled.driver_connection
    assert connection is not None  # a checked-out connection has its driver connection
    try:
        yield connection
    except BaseException as exc:
        if connection.is_closed() or is_connection_failure(exc):
            await greenlet_spawn(pooled.invalidate, exc)
            await engine.dispose()
        raise
    finally:
        await greenlet_spawn(pooled.close)  # back to the pool (a no-op reset: nothing began here)
