"""Dispute SLA clocks, breaches and recovery attempts.

Revision ID: 2026_11_27_0006
Revises: 2026_11_27_0005
Created: 2026-11-27 22:00:00

Existing disputes are backfilled with the default clocks (24 h / 72 h from the provider's `created`,
resolution at `evidence_due_by - 24 h` or `created + 7 days`), `resolved_at = closed_at` for closed ones,
and escalation for amounts of at least 50000; the first sweep then reports the clocks they already missed.

Rollback note: `downgrade` drops the SLA columns, the breach log and the recovery attempts: ops lose who
acknowledged and triaged what, which breaches were reported, and their recovery notes (the dispute rows,
their journal entries and notifications stay). Non-destructive fallback: keep the schema and stop the
sweep; older code never reads these columns or tables.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "2026_11_27_0006"
down_revision = "2026_11_27_0005"
branch_labels = None
depends_on = None

_CLOCKS = ("ack_due_at", "triage_due_at", "resolution_due_at")
_CHECKS = {
    "acked_by": "(acked_at is null) = (acked_by is null)",
    "triaged_by": "(triaged_at is null) = (triaged_by is null)",
    "triage_after_ack": "triaged_at is null or acked_at is not null",
    "resolved_when_closed": "(status = 'open') = (resolved_at is null)",
    "escalation_reason": "escalated = (escalation_reason is not null)",
}


def upgrade() -> None:
    op.create_table(
        "dispute_recovery_attempts",
        sa.Column("attempt_id", sa.UUID(), nullable=False),
        sa.Column("dispute_id", sa.UUID(), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "method in ('evidence_submission', 'creator_clawback', 'supporter_contact')",
            name=op.f("ck_dispute_recovery_attempts_method"),
        ),
        sa.CheckConstraint(
            "amount_minor is null or amount_minor >= 0",
            name=op.f("ck_dispute_recovery_attempts_amount_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["dispute_id"], ["disputes.dispute_id"], name=op.f("fk_dispute_recovery_attempts_dispute_id_disputes")
        ),
        sa.PrimaryKeyConstraint("attempt_id", name=op.f("pk_dispute_recovery_attempts")),
    )
    op.create_index(
        op.f("ix_dispute_recovery_attempts_dispute_id"), "dispute_recovery_attempts", ["dispute_id"], unique=False
    )
    op.create_table(
        "dispute_sla_breaches",
        sa.Column("dispute_id", sa.UUID(), nullable=False),
        sa.Column("clock", sa.String(length=16), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("clock in ('ack', 'triage', 'resolution')", name=op.f("ck_dispute_sla_breaches_clock")),
        sa.ForeignKeyConstraint(
            ["dispute_id"], ["disputes.dispute_id"], name=op.f("fk_dispute_sla_breaches_dispute_id_disputes")
        ),
        sa.PrimaryKeyConstraint("dispute_id", "clock", name=op.f("pk_dispute_sla_breaches")),
    )
    for clock in _CLOCKS:  # nullable until backfilled below
        op.add_column("disputes", sa.Column(clock, sa.DateTime(timezone=True), nullable=True))
    op.add_column("disputes", sa.Column("acked_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("disputes", sa.Column("acked_by", sa.UUID(), nullable=True))
    op.add_column("disputes", sa.Column("triaged_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("disputes", sa.Column("triaged_by", sa.UUID(), nullable=True))
    op.add_column("disputes", sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("disputes", sa.Column("escalated", sa.Boolean(), server_default=sa.text("false"), nullable=False))
    op.add_column("disputes", sa.Column("escalation_reason", sa.String(length=255), nullable=True))
    op.execute(
        """
        update disputes set
            ack_due_at = provider_created_at + interval '24 hours',
            triage_due_at = provider_created_at + interval '72 hours',
            resolution_due_at = coalesce(evidence_due_by - interval '24 hours', provider_created_at + interval '7 days'),
            resolved_at = case when status <> 'open' then coalesce(closed_at, created_at) end,
            escalated = amount_minor >= 50000,
            escalation_reason = case when amount_minor >= 50000
                                     then 'amount ' || amount_minor || ' >= escalation threshold 50000' end
        """
    )
    for clock in _CLOCKS:
        op.alter_column("disputes", clock, existing_type=sa.DateTime(timezone=True), nullable=False)
    for name, condition in _CHECKS.items():
        op.create_check_constraint(op.f(f"ck_disputes_{name}"), "disputes", condition)
    op.create_index(
        "ix_disputes_open_resolution_due",
        "disputes",
        ["resolution_due_at"],
        unique=False,
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_index("ix_disputes_opened", "disputes", ["provider_created_at", "dispute_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_disputes_opened", table_name="disputes")
    op.drop_index("ix_disputes_open_resolution_due", table_name="disputes", postgresql_where=sa.text("status = 'open'"))
    for name in _CHECKS:
        op.drop_constraint(op.f(f"ck_disputes_{name}"), "disputes", type_="check")
    for column in (
        "escalation_reason",
        "escalated",
        "resolved_at",
        "triaged_by",
        "triaged_at",
        "acked_by",
        "acked_at",
        *_CLOCKS,
    ):
        op.drop_column("disputes", column)
    op.drop_table("dispute_sla_breaches")
    op.drop_index(op.f("ix_dispute_recovery_attempts_dispute_id"), table_name="dispute_recovery_attempts")
    op.drop_table("dispute_recovery_attempts")
