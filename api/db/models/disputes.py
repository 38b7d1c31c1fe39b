"""Disputes opened by the provider against a support's charge, their SLA breaches and recovery attempts."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from api.db.models.base import Base, created_at_column

SLA_CLOCKS = ("ack", "triage", "resolution")
RECOVERY_METHODS = ("evidence_submission", "creator_clawback", "supporter_contact")


def _one_of(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class Dispute(Base):
    __tablename__ = "disputes"
    __table_args__ = (
        CheckConstraint("status in ('open', 'won', 'lost')", name="status"),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("(acked_at is null) = (acked_by is null)", name="acked_by"),
        CheckConstraint("(triaged_at is null) = (triaged_by is null)", name="triaged_by"),
        # Triage implies acknowledgement (triaging an unacknowledged dispute acknowledges it too).
        CheckConstraint("triaged_at is null or acked_at is not null", name="triage_after_ack"),
        CheckConstraint("(status = 'open') = (resolved_at is null)", name="resolved_when_closed"),
        CheckConstraint("escalated = (escalation_reason is not null)", name="escalation_reason"),
        Index("ix_disputes_opened", "provider_created_at", "dispute_id"),
        Index("ix_disputes_open_resolution_due", "resolution_due_at", postgresql_where=text("status = 'open'")),
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
    # SLA clocks (api.md "Disputes"): due instants fixed at opening, stamps by ops.
    ack_due_at: Mapped[datetime]
    acked_at: Mapped[datetime | None]
    acked_by: Mapped[uuid.UUID | None]
    triage_due_at: Mapped[datetime]
    triaged_at: Mapped[datetime | None]
    triaged_by: Mapped[uuid.UUID | None]
    resolution_due_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    escalated: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    escalation_reason: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = created_at_column()


class DisputeSlaBreach(Base):
    """One row per dispute and missed clock: the key is what makes each breach notify ops once."""

    __tablename__ = "dispute_sla_breaches"
    __table_args__ = (CheckConstraint(f"clock in ({_one_of(SLA_CLOCKS)})", name="clock"),)

    dispute_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("disputes.dispute_id"), primary_key=True)
    clock: Mapped[str] = mapped_column(String(16), primary_key=True)
    due_at: Mapped[datetime]
    detected_at: Mapped[datetime]


class DisputeRecoveryAttempt(Base):
    """What ops did to recover a disputed amount (evidence, clawback, contacting the supporter)."""

    __tablename__ = "dispute_recovery_attempts"
    __table_args__ = (
        CheckConstraint(f"method in ({_one_of(RECOVERY_METHODS)})", name="method"),
        CheckConstraint("amount_minor is null or amount_minor >= 0", name="amount_not_negative"),
    )

    attempt_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    dispute_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("disputes.dispute_id"), index=True)
    method: Mapped[str] = mapped_column(String(32))
    amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[uuid.UUID]
    created_at: Mapped[datetime] = created_at_column()
