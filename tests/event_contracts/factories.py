"""Valid events to start from: each test changes one thing and says what it expects."""

from __future__ import annotations

import uuid
from typing import Any

USER_ID = "0b5cbbd6-6d1f-4a27-9d24-2f4c1c6a8e01"
PROJECT_ID = "5f2b7e3a-9c41-4e8d-a6b0-1d2e3f405162"
SUPPORT_ID = "8d0f6a4c-2b1e-4c3d-9e5f-6a7b8c9d0e1f"


def client_event(**changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "event_name": "project_view",
        "schema_version": "1.0",
        "occurred_at": "2026-11-27T10:00:00.123Z",
        "sent_at": "2026-11-27T10:00:01.456Z",
        "platform": "ios",
        "app_version": "3.14.0",
        "user_id": USER_ID,
        "anonymous_id": None,
        "session_id": "sess-1",
        "project_id": PROJECT_ID,
        "properties": {"source": "feed"},
        "context": {"device": "iPhone15,2", "os_version": "18.1", "locale": "de-DE", "network": "wifi"},
    }
    event.update(changes)
    return event


def server_event(**changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "event_name": "support_canceled",
        "schema_version": "1.0",
        "occurred_at": "2026-11-27T10:00:00.123Z",
        "platform": "server",
        "user_id": USER_ID,
        "project_id": PROJECT_ID,
        "properties": {"support_id": SUPPORT_ID},
    }
    event.update(changes)
    return event


def without(event: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: value for key, value in event.items() if key not in keys}
