"""Per-client rate-limit windows for POST /v1/events.

Revision ID: 2026_11_27_0003
Revises: 2026_11_27_0002
Created: 2026-11-27 19:19:04.241166

Rollback note: `downgrade` drops `rate_limit_windows`, losing only the current minute's counts
(clients get a fresh window). Non-destructive fallback: keep the table; older code ignores it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "2026_11_27_0003"
down_revision = "2026_11_27_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_windows",
        sa.Column("client_key", sa.String(length=128), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("client_key", "window_start", name=op.f("pk_rate_limit_windows")),
    )


def downgrade() -> None:
    op.drop_table("rate_limit_windows")
