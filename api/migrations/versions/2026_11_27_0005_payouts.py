"""Payouts: one per project, execution date and currency, with the supports they pay out.

Revision ID: 2026_11_27_0005
Revises: 2026_11_27_0004
Created: 2026-11-27 22:00:00

Rollback note: `downgrade` drops `payout_items` and `project_payouts`: the schedule, which supports
each released payout paid, and the Stripe payout ids that `payout.paid`/`payout.failed` webhooks are
matched by. The journal keeps every `payout_release` entry (with its payout_id and Stripe payout id),
so the money history survives, but scheduled payouts would be rebuilt from scratch and released ones
could no longer be told apart from unreleased supports. Non-destructive fallback: keep the tables and
stop calling `release_due` (older code never reads them); export them first if they must go
(`pg_dump -t project_payouts -t payout_items`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "2026_11_27_0005"
down_revision = "2026_11_27_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "project_payouts",
        sa.Column("payout_id", sa.UUID(), nullable=False),
        sa.Column("project_id", sa.UUID(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("execution_date", sa.Date(), nullable=False),
        sa.Column("settlement_target_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=10), server_default="scheduled", nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("support_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("reserve_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("reserve_policy", sa.String(length=16), server_default="disabled", nullable=False),
        sa.Column("withheld_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("provider_payout_id", sa.String(length=255), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failure_code", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "(status = 'scheduled') = (released_at is null)", name=op.f("ck_project_payouts_released_at")
        ),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_project_payouts_currency")),
        sa.CheckConstraint(
            "status in ('scheduled', 'released', 'paid', 'failed')", name=op.f("ck_project_payouts_status")
        ),
        sa.CheckConstraint("amount_minor >= 0", name=op.f("ck_project_payouts_amount_not_negative")),
        sa.CheckConstraint("reserve_minor >= 0", name=op.f("ck_project_payouts_reserve_not_negative")),
        sa.CheckConstraint(
            "settlement_target_date > execution_date", name=op.f("ck_project_payouts_settlement_after_execution")
        ),
        sa.CheckConstraint("withheld_minor >= 0", name=op.f("ck_project_payouts_withheld_not_negative")),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.project_id"], name=op.f("fk_project_payouts_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("payout_id", name=op.f("pk_project_payouts")),
        sa.UniqueConstraint(
            "project_id",
            "execution_date",
            "currency",
            name=op.f("uq_project_payouts_project_id_execution_date_currency"),
        ),
        sa.UniqueConstraint("provider_payout_id", name=op.f("uq_project_payouts_provider_payout_id")),
    )
    op.create_index(
        "ix_project_payouts_due",
        "project_payouts",
        ["execution_date"],
        unique=False,
        postgresql_where=sa.text("status = 'scheduled'"),
    )
    op.create_table(
        "payout_items",
        sa.Column("payout_id", sa.UUID(), nullable=False),
        sa.Column("support_id", sa.UUID(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_payout_items_amount_positive")),
        sa.ForeignKeyConstraint(
            ["payout_id"], ["project_payouts.payout_id"], name=op.f("fk_payout_items_payout_id_project_payouts")
        ),
        sa.ForeignKeyConstraint(
            ["support_id"], ["supports.support_id"], name=op.f("fk_payout_items_support_id_supports")
        ),
        sa.PrimaryKeyConstraint("payout_id", "support_id", name=op.f("pk_payout_items")),
    )
    op.create_index(op.f("ix_payout_items_support_id"), "payout_items", ["support_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_payout_items_support_id"), table_name="payout_items")
    op.drop_table("payout_items")
    op.drop_index(
        "ix_project_payouts_due", table_name="project_payouts", postgresql_where=sa.text("status = 'scheduled'")
    )
    op.drop_table("project_payouts")
