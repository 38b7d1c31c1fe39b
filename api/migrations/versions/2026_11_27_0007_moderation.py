"""Moderation reports, reporter trust and review cases.

Revision ID: 2026_11_27_0007
Revises: 2026_11_27_0006
Created: 2026-11-27 22:20:00

Rollback note: `downgrade` drops the three tables, losing every report, every review case (open ones
and the audit of past decisions) and all reporters' earned trust (everyone is back to 0.5).
Non-destructive fallback: keep the tables and unregister `ModerationController`; older code never reads them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "2026_11_27_0007"
down_revision = "2026_11_27_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reporter_trust",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("score", sa.Numeric(precision=3, scale=2), server_default=sa.text("0.5"), nullable=False),
        sa.Column("upheld_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("rejected_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("score between 0.1 and 1.0", name=op.f("ck_reporter_trust_score_range")),
        sa.CheckConstraint(
            "upheld_count >= 0 and rejected_count >= 0", name=op.f("ck_reporter_trust_counts_not_negative")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_reporter_trust")),
    )
    op.create_table(
        "moderation_reviews",
        sa.Column("review_id", sa.UUID(), nullable=False),
        sa.Column("project_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.String(length=10), server_default="open", nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("weight_sum", sa.Numeric(precision=8, scale=2), nullable=False),
        sa.Column("fraud_weight_sum", sa.Numeric(precision=8, scale=2), nullable=False),
        sa.Column("weight_threshold", sa.Numeric(precision=8, scale=2), nullable=False),
        sa.Column("fraud_weight_threshold", sa.Numeric(precision=8, scale=2), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("report_ids", postgresql.ARRAY(sa.UUID()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.UUID(), nullable=True),
        sa.Column("outcome", sa.String(length=10), nullable=True),
        sa.CheckConstraint(
            "(status = 'open' and outcome is null) or outcome = status", name=op.f("ck_moderation_reviews_outcome")
        ),
        sa.CheckConstraint("(status = 'open') = (decided_at is null)", name=op.f("ck_moderation_reviews_decided_at")),
        sa.CheckConstraint("status in ('open', 'upheld', 'rejected')", name=op.f("ck_moderation_reviews_status")),
        sa.CheckConstraint("trigger in ('weight', 'fraud_weight')", name=op.f("ck_moderation_reviews_trigger")),
        sa.CheckConstraint(
            "(decided_at is null) = (decided_by is null)", name=op.f("ck_moderation_reviews_decided_by")
        ),
        sa.CheckConstraint("window_days > 0", name=op.f("ck_moderation_reviews_window_days_positive")),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.project_id"], name=op.f("fk_moderation_reviews_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("review_id", name=op.f("pk_moderation_reviews")),
    )
    op.create_index(op.f("ix_moderation_reviews_project_id"), "moderation_reviews", ["project_id"], unique=False)
    # The database itself guarantees at most one open review per project.
    op.create_index(
        "uq_moderation_reviews_one_open",
        "moderation_reviews",
        ["project_id"],
        unique=True,
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_table(
        "project_reports",
        sa.Column("report_id", sa.UUID(), nullable=False),
        sa.Column("project_id", sa.UUID(), nullable=False),
        sa.Column("reporter_id", sa.UUID(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("weight", sa.Numeric(precision=3, scale=2), nullable=False),
        sa.Column("report_date", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("review_id", sa.UUID(), nullable=True),
        sa.CheckConstraint(
            "reason in ('spam', 'fraud', 'prohibited_item', 'ip_infringement', 'harassment', 'other')",
            name=op.f("ck_project_reports_reason"),
        ),
        sa.CheckConstraint("char_length(details) <= 2000", name=op.f("ck_project_reports_details_length")),
        sa.CheckConstraint("weight between 0.1 and 1.0", name=op.f("ck_project_reports_weight_range")),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.project_id"], name=op.f("fk_project_reports_project_id_projects")
        ),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["moderation_reviews.review_id"],
            name=op.f("fk_project_reports_review_id_moderation_reviews"),
        ),
        sa.PrimaryKeyConstraint("report_id", name=op.f("pk_project_reports")),
        sa.UniqueConstraint(
            "project_id",
            "reporter_id",
            "report_date",
            name=op.f("uq_project_reports_project_id_reporter_id_report_date"),
        ),
    )
    op.create_index(op.f("ix_project_reports_reporter_id"), "project_reports", ["reporter_id"], unique=False)
    op.create_index(op.f("ix_project_reports_review_id"), "project_reports", ["review_id"], unique=False)
    op.create_index("ix_project_reports_window", "project_reports", ["project_id", "created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_project_reports_window", table_name="project_reports")
    op.drop_index(op.f("ix_project_reports_review_id"), table_name="project_reports")
    op.drop_index(op.f("ix_project_reports_reporter_id"), table_name="project_reports")
    op.drop_table("project_reports")
    op.drop_index(
        "uq_moderation_reviews_one_open", table_name="moderation_reviews", postgresql_where=sa.text("status = 'open'")
    )
    op.drop_index(op.f("ix_moderation_reviews_project_id"), table_name="moderation_reviews")
    op.drop_table("moderation_reviews")
    op.drop_table("reporter_trust")
