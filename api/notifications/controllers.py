"""HTTP routes of notifications: the signed-in user's inbox and contact, and the ops view of the queue."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from litestar import Controller, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from api.auth import Principal, Role, allow
from api.notifications import services
from api.notifications.schemas import ContactRead, ContactUpdate, InboxItem, InboxPage, Queues
from api.pagination import DEFAULT_LIMIT, MAX_LIMIT
from api.state import AppState

Limit = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT)]


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
            "Sets the caller's email address and push token used by the notification queue; absent fields are cleared."
        ),
    )
    async def set_contact(
        self,
        data: JSONBody[ContactUpdate],
        principal: NamedDependency[Principal],
        state: AppState,
    ) -> ContactRead:
        async with state.db.transaction() as session:
            return await services.set_contact(session, principal, data)

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
