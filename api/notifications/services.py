"""Producing notifications inside the business transaction, and the in-app inbox.

`notify` is the only producer: one `notification_events` row per business fact (unique
`dedupe_key`, so a redelivered webhook produces nothing new) and one delivery per recipient x
channel from `MATRIX`. Delivery itself is the worker's (`api.notifications.jobs`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import Principal
from api.db.models.notifications import CHANNELS
from api.errors import DomainError, FieldError, NotFound
from api.notifications import repositories as repo
from api.notifications.matrix import MATRIX, Audience, Channel, NotificationType
from api.notifications.messages import render
from api.notifications.schemas import (
    ContactRead,
    ContactUpdate,
    DevicePage,
    DeviceRead,
    DeviceRegistration,
    InboxItem,
    InboxPage,
    Queues,
    QueueStats,
)
from api.pagination import decode_cursor, trim_page


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


# --- the in-app inbox and contacts -------------------------------------------------------------


class NotificationNotFound(NotFound):
    """api.md lists no code of its own for this 404: the general `not_found`."""


def _inbox_item(row: Any) -> InboxItem:
    title, text = render(row["event_type"], row["payload"])
    return InboxItem(
        notification_id=row["delivery_id"],
        event_type=row["event_type"],
        title=title,
        text=text,
        data=row["payload"],
        created_at=row["created_at"],
        read_at=row["read_at"],
    )


async def inbox(session: AsyncSession, user: Principal, cursor: str | None, limit: int) -> InboxPage:
    """Newest first."""
    after = decode_cursor(cursor)
    rows = await repo.inbox_page(session, user.user_id, (after.at, after.id) if after else None, limit + 1)
    page, next_cursor = trim_page(rows, limit, lambda row: (row["created_at"], row["delivery_id"]))
    return InboxPage(items=[_inbox_item(row) for row in page], next_cursor=next_cursor)


async def mark_read(session: AsyncSession, user: Principal, notification_id: uuid.UUID, now: datetime) -> InboxItem:
    """Idempotent: the first read time is kept."""
    if not await repo.mark_read(session, user.user_id, notification_id, now):
        raise NotificationNotFound("Notification not found.")
    return _inbox_item(await repo.inbox_item(session, user.user_id, notification_id))


async def set_contact(
    session: AsyncSession, user: Principal, data: ContactUpdate, push_environment: str
) -> ContactRead:
    """The contact's `push_token` is one of the user's devices (how older app builds register one): an APNs
    token there is registered (in the server's default environment, unless it is already the user's), and
    the token it replaces, or clears, is unregistered. Any other text is kept as it was, and reaches no device.
    """
    previous = await repo.contact_push_token(session, user.user_id)
    await repo.upsert_contact(session, user.user_id, data.email, data.push_token)
    token = data.push_token.lower() if data.push_token and APNS_TOKEN.fullmatch(data.push_token) else None
    if previous and APNS_TOKEN.fullmatch(previous) and previous.lower() != token:
        await repo.delete_device(session, user.user_id, previous.lower())
    if token:
        await repo.upsert_device(session, user.user_id, token, push_environment, None, None, keep_own=True)
    return ContactRead(user_id=user.user_id, email=data.email, push_token=data.push_token)


# --- push devices -------------------------------------------------------------------------------

APNS_TOKEN = re.compile(r"(?:[0-9a-fA-F]{2}){32,100}")  # 32 bytes today; Apple says the length may grow


class InvalidDeviceToken(DomainError):
    status, code = 422, "invalid_device_token"


class DeviceNotFound(NotFound):
    """Unknown, or someone else's: the same answer (no existence leak)."""

    code = "device_not_found"


def device_token(token: str) -> str:
    """The token as pushes address it (lower-case hex), or 422 `invalid_device_token`."""
    if not APNS_TOKEN.fullmatch(token):
        raise InvalidDeviceToken(
            "A device token is the APNs token in hex: an even number of hex digits, 64 to 200.",
            errors=[FieldError(path="$.token", message="not an APNs device token")],
        )
    return token.lower()


def _device(row: Any) -> DeviceRead:
    return DeviceRead(
        token=row["device_token"],
        environment=row["environment"],
        bundle_id=row["bundle_id"],
        app_version=row["app_version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def register_device(
    session: AsyncSession, user: Principal, token: str, data: DeviceRegistration, push_environment: str
) -> DeviceRead:
    """Idempotent; a token registered to another user moves to this one (a token names one app install)."""
    row = await repo.upsert_device(
        session,
        user.user_id,
        device_token(token),
        data.environment or push_environment,
        data.bundle_id,
        data.app_version,
    )
    return _device(row)


async def unregister_device(session: AsyncSession, user: Principal, token: str) -> None:
    if not await repo.delete_device(session, user.user_id, device_token(token)):
        raise DeviceNotFound("No device with this token is registered to you.")


async def devices(session: AsyncSession, user: Principal, cursor: str | None, limit: int) -> DevicePage:
    """Newest registration first."""
    after = decode_cursor(cursor)
    rows = await repo.devices_page(session, user.user_id, (after.at, after.id) if after else None, limit + 1)
    page, next_cursor = trim_page(rows, limit, lambda row: (row["created_at"], row["device_id"]))
    return DevicePage(items=[_device(row) for row in page], next_cursor=next_cursor)


async def queues(session: AsyncSession, now: datetime) -> Queues:
    rows = await repo.queue_stats(session, CHANNELS, now)
    return Queues(
        queues=[
            QueueStats(
                channel=row["channel"],
                backlog=row["backlog"],
                due=row["due"],
                oldest_age_seconds=float(row["oldest_age_seconds"]) if row["oldest_age_seconds"] is not None else None,
                in_flight=row["in_flight"],
                dead=row["dead"],
                delivered=row["delivered"],
            )
            for row in rows
        ]
    )
