"""HTTP routes of notifications: the signed-in user's inbox, contact and push devices, and the ops view of the queue."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, PathParameter, QueryParameter

from api.auth import Principal, Role, allow
from api.notifications import services
from api.notifications.schemas import (
    ContactRead,
    ContactUpdate,
    DevicePage,
    DeviceRead,
    DeviceRegistration,
    InboxItem,
    InboxPage,
    Queues,
)
from api.pagination import DEFAULT_LIMIT, MAX_LIMIT
from api.state import AppState

Limit = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT)]
# Documented, not enforced here: the service answers 422 `invalid_device_token` with its own words.
DeviceToken = Annotated[
    str,
    PathParameter(
        description="The APNs device token in hex (the app's `deviceToken` bytes), 64 to 200 hex digits.",
        schema_extra={"pattern": "^([0-9a-fA-F]{2}){32,100}$", "minLength": 64, "maxLength": 200},
    ),
]


class NotificationController(Controller):
    path = "/v1"
    tags = ["notifications"]

    @get(
        "/me/notifications",
        summary="The in-app inbox, newest first",
        operation_id="listNotifications",
        description="The caller's in-app notifications, newest first, with read state; paged with `next_cursor`.",
    )
    async def inbox(
        self,
        principal: NamedDependency[Principal],
        state: AppState,
        cursor: Annotated[str | None, QueryParameter()] = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> InboxPage:
        async with state.db.transaction() as session:
            return await services.inbox(session, principal, cursor, limit)

    @post(
        "/me/notifications/{notification_id:uuid}/read",
        status_code=200,
        summary="Mark an inbox item read",
        operation_id="markNotificationRead",
        description="Marks one of the caller's notifications read; marking it again changes nothing.",
    )
    async def mark_read(
        self,
        notification_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        state: AppState,
    ) -> InboxItem:
        async with state.db.transaction() as session:
            return await services.mark_read(session, principal, notification_id, datetime.now(UTC))

    @put(
        "/me/contact",
        summary="Where email and push notifications reach me (the app registers its APNs token)",
        operation_id="setContact",
        description=(
            "Sets the caller's email address and push token used by the notification queue; absent fields are "
            "cleared. An APNs token in `push_token` is registered as one of the caller's devices (see "
            "`registerDevice`, which also records the device's APNs environment), and the token it replaces or "
            "clears is unregistered."
        ),
    )
    async def set_contact(
        self,
        data: JSONBody[ContactUpdate],
        principal: NamedDependency[Principal],
        state: AppState,
    ) -> ContactRead:
        async with state.db.transaction() as session:
            return await services.set_contact(session, principal, data, state.settings.notifications.push_environment)

    @put(
        "/me/devices/{token:str}",
        summary="Register this device for push (its APNs token)",
        operation_id="registerDevice",
        description=(
            "Registers (or refreshes: call it at every launch) one of the caller's devices by its APNs device "
            "token, with the APNs environment its build uses (`development` for debug builds; absent: the server's "
            "default), and optionally the app's bundle id and version (every field may be left out: `{}`). "
            "Idempotent. A token registered to another user moves to the caller: a token names one app install, "
            "and the last user signed in there gets its pushes. Every device of a user receives each push; a token "
            "APNs reports as unregistered is removed."
        ),
    )
    async def register_device(
        self,
        token: DeviceToken,
        data: JSONBody[DeviceRegistration],
        principal: NamedDependency[Principal],
        state: AppState,
    ) -> DeviceRead:
        async with state.db.transaction() as session:
            return await services.register_device(
                session, principal, token, data, state.settings.notifications.push_environment
            )

    @delete(
        "/me/devices/{token:str}",
        status_code=204,
        summary="Unregister a device (no more push there, e.g. at sign-out)",
        operation_id="unregisterDevice",
        description=(
            "Removes one of the caller's devices; pushes stop reaching it. A token that is not the caller's "
            "(unknown, or someone else's) is 404 `device_not_found`."
        ),
    )
    async def unregister_device(
        self,
        token: DeviceToken,
        principal: NamedDependency[Principal],
        state: AppState,
    ) -> None:
        async with state.db.transaction() as session:
            await services.unregister_device(session, principal, token)

    @get(
        "/me/devices",
        summary="My devices registered for push, newest first",
        operation_id="listDevices",
        description="The caller's devices that receive push, newest registration first; paged with `next_cursor`.",
    )
    async def devices(
        self,
        principal: NamedDependency[Principal],
        state: AppState,
        cursor: Annotated[str | None, QueryParameter()] = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> DevicePage:
        async with state.db.transaction() as session:
            return await services.devices(session, principal, cursor, limit)

    @get(
        "/ops/queues",
        summary="Notification backlog, oldest age and dead deliveries per channel (ops)",
        guards=[allow(Role.ops)],
        operation_id="getQueues",
        description=(
            "Per notification channel: how many deliveries wait, the age of the oldest and how many failed for good."
        ),
    )
    async def queues(
        self,
        state: AppState,
    ) -> Queues:
        async with state.db.transaction() as session:
            return await services.queues(session, datetime.now(UTC))
