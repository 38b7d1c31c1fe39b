"""Disputes opened by the provider against a support's charge."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from api.db.models.base import Base, created_at_column


class Dispute(Base):
    __tablename__ = "disputes"
    __table_args__ = (
        CheckConstraint("status in ('open', 'won', 'lost')", name="status"),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
    )

    dispute_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    provider_dispute_id: Mapped[str] = mapped_column(String(255), unique=True)
    support_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("supports.support_id"), index=True)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.project_id"), index=True)
    status: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str | None] = mapped_column(String(64))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    evidence_due_by: Mapped[datetime | None]
    provider_created_at: Mapped[datetime]  # SLA clocks start here
    closed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at_column()
