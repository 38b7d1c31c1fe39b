"""Every SQL query of the events domain."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from api.db import hot

_LAND = hot.Sql("insert into event_landing (source, raw) values ('client', :raw)")
_LAND_SERVER = hot.Sql("insert into event_landing (source, raw) values ('server', :raw)")
_HIT = hot.Sql(
    """
    insert into rate_limit_windows (client_key, window_start, hits)
    values (:client_key, date_trunc('minute', now()), 1)
    on conflict (client_key, window_start) do update set hits = rate_limit_windows.hits + 1
    returning hits
"""
)


async def land(session: AsyncSession, raws: list[str]) -> None:
    await hot.executemany(session, _LAND, [{"raw": raw} for raw in raws])


async def land_server(session: AsyncSession, raw: str) -> None:
    """One server event, in the unit of work of the business change that causes it (an outbox)."""
    await hot.execute(session, _LAND_SERVER, {"raw": raw})


async def hit(session: AsyncSession, client_key: str) -> int:
    """Count a request in the client's current one-minute window; returns the window's count."""
    row = await hot.fetchrow(session, _HIT, {"client_key": client_key})
    assert row is not None  # an upsert returns its row
    return int(row["hits"])
