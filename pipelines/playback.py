"""Writing the guardrail's caps into the OLTP `playback_caps` table, in one transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

import psycopg2

_UPSERT = """
    insert into playback_caps (project_id, max_rendition, level, since, updated_at)
    values (%(project_id)s, %(max_rendition)s, %(level)s, %(since)s, now())
    on conflict (project_id) do update
       set max_rendition = excluded.max_rendition, level = excluded.level, since = excluded.since,
           updated_at = now()
     where (playback_caps.max_rendition, playback_caps.level, playback_caps.since)
           is distinct from (excluded.max_rendition, excluded.level, excluded.since)
"""


def write_playback_caps(dsn: str, rows: Sequence[tuple[Any, str, str, date]]) -> tuple[int, int]:
    """Upsert (project_id, level, max_rendition, since) rows; returns (written, unknown projects)."""
    written = unknown = 0
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        for project_id, level, max_rendition, since in rows:
            try:
                key = str(uuid.UUID(str(project_id)))
            except ValueError:
                unknown += 1
                continue
            cursor.execute("select 1 from projects where project_id = %s", (key,))
            if cursor.fetchone() is None:
                unknown += 1
                continue
            cursor.execute(_UPSERT, {"project_id": key, "max_rendition": max_rendition, "level": level, "since": since})
            written += cursor.rowcount
    return written, unknown
