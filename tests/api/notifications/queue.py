"""Reading the notification queue in tests: what was produced for whom, on which channel."""

from __future__ import annotations

import uuid
from collections import Counter

import asyncpg


async def deliveries(sql: asyncpg.Connection, event_type: str | None = None) -> Counter[tuple[str, str, str]]:
    """(event_type, recipient, channel) → how many deliveries; recipient is a user id or 'ops'."""
    rows = await sql.fetch(
        "select e.event_type, coalesce(d.recipient_id::text, 'ops') as recipient, d.channel "
        "from notification_deliveries d join notification_events e using (notification_event_id) "
        "where $1::text is null or e.event_type = $1",
        event_type,
    )
    return Counter((r["event_type"], r["recipient"], r["channel"]) for r in rows)


async def creator_of(sql: asyncpg.Connection, support_id: str) -> str:
    value = await sql.fetchval(
        "select p.creator_id::text from supports s join projects p using (project_id) where s.support_id = $1",
        uuid.UUID(support_id),
    )
    return str(value)
