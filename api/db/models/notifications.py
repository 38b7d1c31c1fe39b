"""The notification queue: one event per business fact (unique `dedupe_key`), one delivery per recipient x channel."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, SmallInteger, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from api.db.models.base import Base, created_at_column

CHANNELS = ("push", "in_app", "email", "ops")
DELIVERY_STATUSES = ("pending", "delivered", "dead")


class NotificationEvent(Base):
    __tablename__ = "notification_events"

    notification_event_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    event_type: Mapped[str] = mapped_column(String(64))
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = created_at_column()


class NotificationDelivery(Base):
    __tablename__ = "notification_deliveries"
    __table_args__ = (
        CheckConstraint("channel in ('push', 'in_app', 'email', 'ops')", name="channel"),
        CheckConstraint("status in ('pending', 'delivered', 'dead')", name="status"),
        CheckConstraint("(channel = 'ops') = (recipient_id is null)", name="recipient"),
        # The worker's claim scans only what is due.
        Index("ix_notification_deliveries_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
        Index("ix_notification_deliveries_inbox", "recipient_id", "channel", "created_at", "delivery_id"),
    )

    delivery_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    notification_event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("notification_events.notification_event_id"), index=True
    )
    channel: Mapped[str] = mapped_column(String(8))
    recipient_id: Mapped[uuid.UUID | None]  # a user; none for the ops channel
    status: Mapped[str] = mapped_column(String(10), server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime] = created_at_column()
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]
    read_at: Mapped[datetime | None]  # in-app inbox
    created_at: Mapped[datetime] = created_at_column()


class UserContact(Base):
    """Where a user's email and push notifications go (registered by the app)."""

    __tablename__ = "user_contacts"

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320))
    push_token: Mapped[str | None] = mapped_column(String(512))
    updated_at: Mapped[datetime] = created_at_column()


class PushDevice(Base):
    """An app install that receives push: its APNs device token, registered by its signed-in user.

    A token names one install, so it belongs to one user at a time (registering it again moves it).
    """

    __tablename__ = "push_devices"
    __table_args__ = (
        CheckConstraint("device_token ~ '^([0-9a-f]{2}){32,100}$'", name="device_token"),
        CheckConstraint("environment in ('production', 'development')", name="environment"),
        # A user's devices, newest registration first (the list and the worker's claim).
        Index("ix_push_devices_user", "user_id", "created_at", "device_id"),
    )

    device_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    device_token: Mapped[str] = mapped_column(String(200), unique=True)
    user_id: Mapped[uuid.UUID]
    environment: Mapped[str] = mapped_column(String(11))
    bundle_id: Mapped[str | None] = mapped_column(String(155))
    app_version: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at_column()  # registered by this user
    updated_at: Mapped[datetime] = created_at_column()  # last registered (apps re-register on every launch)


class PushReceipt(Base):
    """APNs's final answer for one push delivery on one device, so a retry skips the devices already answered."""

    __tablename__ = "push_receipts"

    delivery_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("notification_deliveries.delivery_id", ondelete="CASCADE"), primary_key=True
    )
    device_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("push_devices.device_id", ondelete="CASCADE"), primary_key=True, index=True
    )
    status: Mapped[int] = mapped_column(SmallInteger)  # APNs's HTTP status: 200, or a 4xx not worth retrying
    reason: Mapped[str | None] = mapped_column(String(64))
    answered_at: Mapped[datetime] = created_at_column()
