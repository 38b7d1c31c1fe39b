"""Hot-path statements: SQL with `:named` parameters, run on the asyncpg connection under a session.

SQLAlchemy adds about 0.1 ms of CPU to every statement on top of asyncpg (`bench/README.md`), and
a webhook runs about ten statements per event, so the webhook path's fixed statements go straight
to the driver. Everything else keeps using the session.

A hot statement runs in the session's transaction, after the session's pending ORM changes are
flushed (as an ORM query would autoflush them). SQLAlchemy begins a transaction lazily, at its first
statement; a hot statement that would come first runs through SQLAlchemy instead, so it begins it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

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
