"""Producing notifications inside the business transaction, and the in-app inbox.

`notify` is the only producer: one `notification_events` row per business fact (unique
`dedupe_key`, so a redelivered webhook produces nothing new) and one delivery per recipient x
channel from `MATRIX`. Delivery itself is the worker's (`api.notifications.delivery`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.notifications import repositories as repo
from api.notifications.matrix import MATRIX, Audience, Channel, NotificationType


async def notify(
    session: AsyncSession,
    event_type: NotificationType,
    *,
    dedupe_key: str,
    payload: dict[str, Any],
    recipients: Mapping[Audience, Iterable[uuid.UUID]],
    now: datetime,
) -> bool:
    """Queue `event_type` for `recipients` (user ids per audience; ops needs none). False if already queued."""
    deliveries: list[tuple[Channel, uuid.UUID | None]] = []
    for audience, channels in MATRIX[event_type].items():
        users: list[uuid.UUID | None] = [None]
        if audience != "ops":
            users = list(dict.fromkeys(recipients.get(audience, ())))
        deliveries.extend((channel, user) for user in users for channel in channels)
    return await repo.insert_event(
        session, event_type, f"{event_type}:{dedupe_key}", {"type": event_type, **payload}, deliveries, now
    )


async def project_audience(
    session: AsyncSession, project_id: uuid.UUID, supporter_id: uuid.UUID | None = None
) -> dict[Audience, list[uuid.UUID]]:
    """The creator of `project_id` and, when given, the supporter concerned."""
    creator = await repo.project_creator(session, project_id)
    audience: dict[Audience, list[uuid.UUID]] = {"creator": [creator] if creator else []}
    if supporter_id is not None:
        audience["supporter"] = [supporter_id]
    return audience
