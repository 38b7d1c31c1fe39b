"""Every SQL query of the notifications domain."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_INSERT_EVENT = text(
    "insert into notification_events (notification_event_id, event_type, dedupe_key, payload) "
    "values (:id, :event_type, :dedupe_key, cast(:payload as jsonb)) "
    "on conflict (dedupe_key) do nothing returning notification_event_id"
)
_INSERT_DELIVERIES = text(
    "insert into notification_deliveries (delivery_id, notification_event_id, channel, recipient_id, next_attempt_at) "
    "select gen_random_uuid(), :event_id, d.channel, d.recipient_id, :now "
    "from jsonb_to_recordset(cast(:deliveries as jsonb)) as d(channel text, recipient_id uuid)"
)


async def insert_event(
    session: AsyncSession,
    event_type: str,
    dedupe_key: str,
    payload: dict[str, Any],
    deliveries: Sequence[tuple[str, uuid.UUID | None]],
    now: datetime,
) -> bool:
    """The event and its deliveries, or nothing when `dedupe_key` was already produced."""
    event_id = uuid.uuid4()
    inserted = await session.scalar(
        _INSERT_EVENT,
        {"id": event_id, "event_type": event_type, "dedupe_key": dedupe_key, "payload": json.dumps(payload)},
    )
    if inserted is None:
        return False
    rows = [{"channel": channel, "recipient_id": str(r) if r else None} for channel, r in deliveries]
    if rows:
        await session.execute(_INSERT_DELIVERIES, {"event_id": event_id, "deliveries": json.dumps(rows), "now": now})
    return True


async def project_creator(session: AsyncSession, project_id: uuid.UUID) -> uuid.UUID | None:
    value = await session.scalar(text("select creator_id from projects where project_id = :p"), {"p": project_id})
    return value if value is None or isinstance(value, uuid.UUID) else uuid.UUID(str(value))


async def project_supporters(session: AsyncSession, project_id: uuid.UUID) -> list[uuid.UUID]:
    """Current backers: supports paid and not taken back (refunded or charged back)."""
    rows = await session.scalars(
        text(
            "select distinct supporter_id from supports "
            "where project_id = :p and status in ('succeeded', 'disputed') order by supporter_id"
        ),
        {"p": project_id},
    )
    return list(rows)
