"""Purging the bytes of uploads abandoned after a retryable failure.

Revision ID: 2026_11_28_0009
Revises: 2026_11_27_0008
Created: 2026-11-28 01:40:00

Rollback note: `downgrade` drops `uploads.bytes_purged_at` and its sweep index; purged uploads stay
`retryable = false` (their bytes are gone either way), so nothing becomes retryable again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "2026_11_28_0009"
down_revision = "2026_11_27_0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("uploads", sa.Column("bytes_purged_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_uploads_failed_retryable",
        "uploads",
        ["updated_at"],
        unique=False,
        postgresql_where=sa.text("state = 'failed' and retryable"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_uploads_failed_retryable", table_name="uploads", postgresql_where=sa.text("state = 'failed' and retryable")
    )
    op.drop_column("uploads", "bytes_purged_at")
