"""Supports (a supporter backing a project's reward tier) and their status history."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Identity, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from api.db.models.base import Base, created_at_column
from api.supports.machine import STATUSES

_STATUS_LIST = ", ".join(f"'{s}'" for s in STATUSES)


class Support(Base):
    __tablename__ = "supports"
    __table_args__ = (
        CheckConstraint(f"status in ({_STATUS_LIST})", name="status"),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency"),
    )

    support_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.project_id"), index=True)
    tier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reward_tiers.tier_id"))
    supporter_id: Mapped[uuid.UUID] = mapped_column(index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))
    policy_snapshot: Mapped[dict[str, Any]] = mapped_column(JSONB)
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    charge_id: Mapped[str | None] = mapped_column(String(255), index=True)
    # What the provider has told us, folded into `status` by `api.supports.machine`.
    confirmed_at: Mapped[datetime | None]
    succeeded_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    failure_code: Mapped[str | None] = mapped_column(String(255))
    cancel_requested_at: Mapped[datetime | None]
    refunded_minor: Mapped[int] = mapped_column(BigInteger, server_default="0")
    expires_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()


class SupportStatusHistory(Base):
    __tablename__ = "support_status_history"
    __table_args__ = (CheckConstraint("source in ('api', 'webhook', 'system')", name="source"),)

    history_id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    support_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("supports.support_id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(8))
    provider_event_id: Mapped[str | None] = mapped_column(String(255))
    applied: Mapped[bool] = mapped_column(Boolean, server_default="true")
    occurred_at: Mapped[datetime] = created_at_column()
