"""Request and response shapes of notifications: the in-app inbox, contact and push device registration, queue stats."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from api.notifications.matrix import Channel

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
PushToken = Annotated[str, msgspec.Meta(min_length=1, max_length=512)]
PushEnvironment = Literal["production", "development"]
BundleId = Annotated[str, msgspec.Meta(min_length=1, max_length=155, pattern=r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$")]
AppVersion = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


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


class DeviceRegistration(msgspec.Struct, forbid_unknown_fields=True):
    """The app install behind a device token; every field may be left out (`{}`)."""

    # The APNs environment the app build got its token from (debug builds: development); absent: the server's.
    environment: PushEnvironment | None = None
    bundle_id: BundleId | None = None  # recorded for support; pushes carry the server's APNs topic
    app_version: AppVersion | None = None


class DeviceRead(msgspec.Struct):
    token: str  # lower-case hex, as pushes address it
    environment: PushEnvironment
    bundle_id: str | None
    app_version: str | None
    created_at: datetime  # registered by this user
    updated_at: datetime  # last registered (apps register again at each launch)


class DevicePage(msgspec.Struct):
    items: list[DeviceRead]
    next_cursor: str | None


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
