"""Resumable (tus) uploads and their state history.

Revision ID: 2026_11_27_0008
Revises: 2026_11_27_0007
Created: 2026-11-27 22:20:00

Rollback note: `downgrade` drops `uploads` and `upload_state_history`, losing every upload's
offset, declared sha256, state, media facts and audit trail; the bytes under
`<data_dir>/uploads/` (or the object store) stay behind, unreferenced. Non-destructive fallback:
keep the tables, unregister the upload routes and stop the upload worker steps; older code never
reads these tables, and clients resume from `HEAD` once the routes are back.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "2026_11_27_0008"
down_revision = "2026_11_27_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "uploads",
        sa.Column("upload_id", sa.UUID(), nullable=False),
        sa.Column("creator_id", sa.UUID(), nullable=False),
        sa.Column("project_id", sa.UUID(), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=127), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("offset", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("failure_reason", sa.String(length=32), nullable=True),
        sa.Column("retryable", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("storage_key", sa.String(length=255), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_byte_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("processing_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("media", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("deduplicated_from", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "(state = 'failed') = (failure_reason is not null)", name=op.f("ck_uploads_failure_reason_iff_failed")
        ),
        sa.CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name=op.f("ck_uploads_sha256_hex")),
        sa.CheckConstraint(
            "state in ('created', 'uploading', 'processing', 'ready', 'failed')", name=op.f("ck_uploads_state")
        ),
        sa.CheckConstraint('"offset" >= 0 and "offset" <= size', name=op.f("ck_uploads_offset_within_size")),
        sa.CheckConstraint("size > 0", name=op.f("ck_uploads_size_positive")),
        sa.ForeignKeyConstraint(
            ["deduplicated_from"], ["uploads.upload_id"], name=op.f("fk_uploads_deduplicated_from_uploads")
        ),
        sa.ForeignKeyConstraint(["project_id"], ["projects.project_id"], name=op.f("fk_uploads_project_id_projects")),
        sa.PrimaryKeyConstraint("upload_id", name=op.f("pk_uploads")),
    )
    op.create_index(op.f("ix_uploads_creator_id"), "uploads", ["creator_id"], unique=False)
    op.create_index(
        "ix_uploads_processing",
        "uploads",
        ["processing_started_at"],
        unique=False,
        postgresql_where=sa.text("state = 'processing'"),
    )
    op.create_index(
        "ix_uploads_ready_by_sha256",
        "uploads",
        ["creator_id", "sha256"],
        unique=False,
        postgresql_where=sa.text("state = 'ready'"),
    )
    op.create_index(
        "ix_uploads_receiving_expiry",
        "uploads",
        ["expires_at"],
        unique=False,
        postgresql_where=sa.text("state in ('created', 'uploading')"),
    )
    op.create_table(
        "upload_state_history",
        sa.Column("history_id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("upload_id", sa.UUID(), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["upload_id"], ["uploads.upload_id"], name=op.f("fk_upload_state_history_upload_id_uploads")
        ),
        sa.PrimaryKeyConstraint("history_id", name=op.f("pk_upload_state_history")),
    )
    op.create_index(op.f("ix_upload_state_history_upload_id"), "upload_state_history", ["upload_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_upload_state_history_upload_id"), table_name="upload_state_history")
    op.drop_table("upload_state_history")
    op.drop_index("ix_uploads_receiving_expiry", table_name="uploads")
    op.drop_index("ix_uploads_ready_by_sha256", table_name="uploads")
    op.drop_index("ix_uploads_processing", table_name="uploads")
    op.drop_index(op.f("ix_uploads_creator_id"), table_name="uploads")
    op.drop_table("uploads")
