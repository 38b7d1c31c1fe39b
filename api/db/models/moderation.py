"""Moderation: reporter trust, weighted reports on projects and the review cases they trigger."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from api.db.models.base import Base, created_at_column

REPORT_REASONS = ("spam", "fraud", "prohibited_item", "ip_infringement", "harassment", "other")
REVIEW_STATUSES = ("open", "upheld", "rejected")
REVIEW_TRIGGERS = ("weight", "fraud_weight")
MAX_DETAILS_CHARS = 2000

# Weights and trust are exact decimals with two places, so thresholds like 3.0 compare exactly.
Weight = Numeric(3, 2)
WeightSum = Numeric(8, 2)


def _one_of(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class ReporterTrust(Base):
    """A reporter's trust score; no row means the default 0.5 (a new account)."""

    __tablename__ = "reporter_trust"
    __table_args__ = (
        CheckConstraint("score between 0.1 and 1.0", name="score_range"),
        CheckConstraint("upheld_count >= 0 and rejected_count >= 0", name="counts_not_negative"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    score: Mapped[Decimal] = mapped_column(Weight, server_default=text("0.5"))
    upheld_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    rejected_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    updated_at: Mapped[datetime] = created_at_column()


class ModerationReview(Base):
    """A review case; at most one open per project (partial unique index), with its trigger inputs for audit."""

    __tablename__ = "moderation_reviews"
    __table_args__ = (
        CheckConstraint(f"status in ({_one_of(REVIEW_STATUSES)})", name="status"),
        CheckConstraint(f"trigger in ({_one_of(REVIEW_TRIGGERS)})", name="trigger"),
        CheckConstraint("(status = 'open' and outcome is null) or outcome = status", name="outcome"),
        CheckConstraint("(status = 'open') = (decided_at is null)", name="decided_at"),
        CheckConstraint("(decided_at is null) = (decided_by is null)", name="decided_by"),
        CheckConstraint("window_days > 0", name="window_days_positive"),
        Index("uq_moderation_reviews_one_open", "project_id", unique=True, postgresql_where=text("status = 'open'")),
    )

    review_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.project_id"), index=True)
    status: Mapped[str] = mapped_column(String(10), server_default="open")
    trigger: Mapped[str] = mapped_column(String(16))
    # What crossed which threshold, as seen when the case was opened.
    weight_sum: Mapped[Decimal] = mapped_column(WeightSum)
    fraud_weight_sum: Mapped[Decimal] = mapped_column(WeightSum)
    weight_threshold: Mapped[Decimal] = mapped_column(WeightSum)
    fraud_weight_threshold: Mapped[Decimal] = mapped_column(WeightSum)
    window_days: Mapped[int] = mapped_column(Integer)
    window_start: Mapped[datetime]
    report_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)))
    created_at: Mapped[datetime] = created_at_column()
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[uuid.UUID | None]
    outcome: Mapped[str | None] = mapped_column(String(10))


class ProjectReport(Base):
    """One report per reporter, project and UTC day; `review_id` is the case that judges it."""

    __tablename__ = "project_reports"
    __table_args__ = (
        UniqueConstraint("project_id", "reporter_id", "report_date"),
        CheckConstraint(f"reason in ({_one_of(REPORT_REASONS)})", name="reason"),
        CheckConstraint(f"char_length(details) <= {MAX_DETAILS_CHARS}", name="details_length"),
        CheckConstraint("weight between 0.1 and 1.0", name="weight_range"),
        # The trailing-window sums scan one project's recent reports.
        Index("ix_project_reports_window", "project_id", "created_at"),
    )

    report_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.project_id"))
    reporter_id: Mapped[uuid.UUID] = mapped_column(index=True)
    reason: Mapped[str] = mapped_column(String(32))
    details: Mapped[str | None] = mapped_column(Text)
    weight: Mapped[Decimal] = mapped_column(Weight)
    report_date: Mapped[date] = mapped_column(Date)  # the UTC day of created_at
    created_at: Mapped[datetime] = created_at_column()
    review_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("moderation_reviews.review_id"), index=True)
