"""The notification queue (events + deliveries with leases) and where users receive email and push.

Revision ID: 2026_11_27_0004
Revises: 2026_11_27_0003
Created: 2026-11-27 21:48:38.386077

Rollback note: `downgrade` drops the queue, losing undelivered notifications and the in-app inbox.
Non-destructive fallback: keep the tables and stop the workers; older code never reads them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "2026_11_27_0004"
down_revision = "2026_11_27_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification_events",
        sa.Column("notification_event_id", sa.UUID(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("dedupe_key", sa.String(length=255), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("notification_event_id", name=op.f("pk_notification_events")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_notification_events_dedupe_key")),
    )
    op.create_table(
        "user_contacts",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("push_token", sa.String(length=512), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_contacts")),
    )
    op.create_table(
        "notification_deliveries",
        sa.Column("delivery_id", sa.UUID(), nullable=False),
        sa.Column("notification_event_id", sa.UUID(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("recipient_id", sa.UUID(), nullable=True),
        sa.Column("status", sa.String(length=10), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("lease_owner", sa.String(length=128), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "(channel = 'ops') = (recipient_id is null)", name=op.f("ck_notification_deliveries_recipient")
        ),
        sa.CheckConstraint(
            "channel in ('push', 'in_app', 'email', 'ops')", name=op.f("ck_notification_deliveries_channel")
        ),
        sa.CheckConstraint(
            "status in ('pending', 'delivered', 'dead')", name=op.f("ck_notification_deliveries_status")
        ),
        sa.ForeignKeyConstraint(
            ["notification_event_id"],
            ["notification_events.notification_event_id"],
            name=op.f("fk_notification_deliveries_notification_event_id_notification_events"),
        ),
        sa.PrimaryKeyConstraint("delivery_id", name=op.f("pk_notification_deliveries")),
    )
    op.create_index(
        "ix_notification_deliveries_due",
        "notification_deliveries",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_notification_deliveries_inbox",
        "notification_deliveries",
        ["recipient_id", "channel", "created_at", "delivery_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_notification_deliveries_notification_event_id"),
        "notification_deliveries",
        ["notification_event_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_notification_deliveries_notification_event_id"), table_name="notification_deliveries")
    op.drop_index("ix_notification_deliveries_inbox", table_name="notification_deliveries")
    op.drop_index(
        "ix_notification_deliveries_due",
        table_name="notification_deliveries",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_table("notification_deliveries")
    op.drop_table("user_contacts")
    op.drop_table("notification_events")
