"""Push devices (APNs device tokens registered per user) and APNs's final answer per delivery and device.

Revision ID: 2026_12_06_0010
Revises: 2026_11_28_0009
Created: 2026-12-06 09:00:00

Rollback note: `downgrade` drops `push_devices` and `push_receipts`: every registered device is lost (apps
register again on their next launch) and a push delivery retried afterwards may reach a device twice.
`user_contacts.push_token` is untouched, so older code keeps what the contact route stored.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "2026_12_06_0010"
down_revision = "2026_11_28_0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "push_devices",
        sa.Column("device_id", sa.UUID(), nullable=False),
        sa.Column("device_token", sa.String(length=200), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("environment", sa.String(length=11), nullable=False),
        sa.Column("bundle_id", sa.String(length=155), nullable=True),
        sa.Column("app_version", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("device_token ~ '^([0-9a-f]{2}){32,100}$'", name=op.f("ck_push_devices_device_token")),
        sa.CheckConstraint("environment in ('production', 'development')", name=op.f("ck_push_devices_environment")),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_push_devices")),
        sa.UniqueConstraint("device_token", name=op.f("uq_push_devices_device_token")),
    )
    op.create_index("ix_push_devices_user", "push_devices", ["user_id", "created_at", "device_id"], unique=False)
    op.create_table(
        "push_receipts",
        sa.Column("delivery_id", sa.UUID(), nullable=False),
        sa.Column("device_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["notification_deliveries.delivery_id"],
            name=op.f("fk_push_receipts_delivery_id_notification_deliveries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["push_devices.device_id"],
            name=op.f("fk_push_receipts_device_id_push_devices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("delivery_id", "device_id", name=op.f("pk_push_receipts")),
    )
    op.create_index(op.f("ix_push_receipts_device_id"), "push_receipts", ["device_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_push_receipts_device_id"), table_name="push_receipts")
    op.drop_table("push_receipts")
    op.drop_index("ix_push_devices_user", table_name="push_devices")
    op.drop_table("push_devices")
