"""Server events: written to `event_landing` in the business transaction that causes them (outbox).

Shaped per event-contract-v1 (platform `server`, no session or app version); the pipeline validates
them exactly like client events. Ids are derived from the cause, so a cause can never land twice
with different ids.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from api.events import repositories as repo
from api.timestamps import rfc3339

SCHEMA_VERSION = "1.0"
_NAMESPACE = uuid.UUID("6f1c1f7e-7d0c-4a57-9d38-5f8f3b0c2a11")


def server_event(
    name: str,
    *,
    cause: str,
    occurred_at: datetime,
    user_id: uuid.UUID | None,
    project_id: uuid.UUID | None,
    properties: dict[str, Any],
) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid5(_NAMESPACE, f"{name}:{cause}")),
        "event_name": name,
        "schema_version": SCHEMA_VERSION,
        "occurred_at": rfc3339(occurred_at),
        "platform": "server",
        "user_id": str(user_id) if user_id else None,
        "project_id": str(project_id) if project_id else None,
        "properties": properties,
    }


async def land_server_event(session: AsyncSession, event: dict[str, Any]) -> None:
    await repo.land_server(session, msgspec.json.encode(event).decode())
