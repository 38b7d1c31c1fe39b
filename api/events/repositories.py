"""Every SQL query of the events domain."""

from __future__ import annotations

from typing import Any

_LAND = "insert into event_landing (source, raw) values ('client', $1)"
_HIT = """
    insert into rate_limit_windows (client_key, window_start, hits)
    values ($1, date_trunc('minute', now()), 1)
    on conflict (client_key, window_start) do update set hits = rate_limit_windows.hits + 1
    returning hits
"""


async def land(connection: Any, raws: list[str]) -> None:
    await connection.executemany(_LAND, [(raw,) for raw in raws])


async def hit(connection: Any, client_key: str) -> int:
    """Count a request in the client's current one-minute window; returns the window's count."""
    return int(await connection.fetchval(_HIT, client_key))
