"""Payouts: one per project, execution date and currency, and the supports each one pays out."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from api.db.models.base import Base, created_at_column

PAYOUT_STATUSES = ("scheduled", "released", "paid", "failed")


class ProjectPayout(Base):
    __tablename__ = "project_payouts"
    __table_args__ = (
        UniqueConstraint("project_id", "execution_date", "currency"),
        CheckConstraint("status in ({})".format(", ".join(f"'{s}'" for s in PAYOUT_STATUSES)), name="status"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency"),
        CheckConstraint("amount_minor >= 0", name="amount_not_negative"),
        CheckConstraint("reserve_minor >= 0", name="reserve_not_negative"),
        CheckConstraint("withheld_minor >= 0", name="withheld_not_negative"),
        CheckConstraint("settlement_target_date > execution_date", name="settlement_after_execution"),
        CheckConstraint("(status = 'scheduled') = (released_at is null)", name="released_at"),
        # The release worker's claim scans only what is still to release.
        Index("ix_project_payouts_due", "execution_date", postgresql_where=text("status = 'scheduled'")),
    )

    payout_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.project_id"))
    currency: Mapped[str] = mapped_column(String(3))
    execution_date: Mapped[date]
    settlement_target_date: Mapped[date]
    status: Mapped[str] = mapped_column(String(10), server_default="scheduled")
    # Scheduled: the items' total. Released: what was sent (the items' total capped at creator_payable).
    amount_minor: Mapped[int] = mapped_column(BigInteger, server_default="0")
    support_count: Mapped[int] = mapped_column(Integer, server_default="0")
    reserve_minor: Mapped[int] = mapped_column(BigInteger, server_default="0")
    reserve_policy: Mapped[str] = mapped_column(String(16), server_default="disabled")
    # Items' total minus what was sent: refunds/losses booked after an earlier release, netted here.
    withheld_minor: Mapped[int] = mapped_column(BigInteger, server_default="0")
    provider_payout_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    released_at: Mapped[datetime | None]
    # What the provider reported (event times); `status` is folded from them.
    paid_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    failure_code: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()


class PayoutItem(Base):
    """A support's share of a payout; frozen once the payout is released."""

    __tablename__ = "payout_items"
    __table_args__ = (CheckConstraint("amount_minor > 0", name="amount_positive"),)

    payout_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("project_payouts.payout_id"), primary_key=True)
    # A support gets a second item only when money comes back after its first payout was released.
    support_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("supports.support_id"), primary_key=True, index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
