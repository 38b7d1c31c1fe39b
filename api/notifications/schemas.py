"""Request and response shapes of notifications: the in-app inbox, contact registration, queue stats."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec

from api.notifications.matrix import Channel

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
PushToken = Annotated[str, msgspec.Meta(min_length=1, max_length=512)]


class InboxItem(msgspec.Struct):
    notification_id: uuid.UUID  # the in-app delivery's id
    event_type: str
    title: str
    text: str
    data: dict[str, Any]
    created_at: datetime
    read_at: datetime | None


class InboxPage(msgspec.Struct):
    items: list[InboxItem]
    next_cursor: str | None


class ContactUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Where email and push notifications reach the signed-in user (null clears)."""

    email: Email | None = None
    push_token: PushToken | None = None


class ContactRead(msgspec.Struct):
    user_id: uuid.UUID
    email: str | None
    push_token: str | None


class QueueStats(msgspec.Struct):
    channel: Channel
    backlog: int  # pending deliveries, due or waiting for a retry
    due: int  # pending and due now
    oldest_age_seconds: float | None  # age of the oldest pending delivery
    in_flight: int  # leased by a worker right now
    dead: int
    delivered: int


class Queues(msgspec.Struct):
    queues: list[QueueStats]
