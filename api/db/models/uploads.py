"""Resumable (tus) video uploads and their state history."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Identity, Index, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from api.db.models.base import Base, created_at_column
from api.uploads.machine import STATES

_STATE_LIST = ", ".join(f"'{s}'" for s in STATES)


class Upload(Base):
    __tablename__ = "uploads"
    __table_args__ = (
        CheckConstraint(f"state in ({_STATE_LIST})", name="state"),
        CheckConstraint("size > 0", name="size_positive"),
        CheckConstraint('"offset" >= 0 and "offset" <= size', name="offset_within_size"),
        CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="sha256_hex"),
        CheckConstraint("(state = 'failed') = (failure_reason is not null)", name="failure_reason_iff_failed"),
        # Creation-time dedupe: a creator's ready upload by content.
        Index("ix_uploads_ready_by_sha256", "creator_id", "sha256", postgresql_where=text("state = 'ready'")),
        # The worker's sweeps: receiving uploads by expiry, processing ones by start.
        Index("ix_uploads_receiving_expiry", "expires_at", postgresql_where=text("state in ('created', 'uploading')")),
        Index("ix_uploads_processing", "processing_started_at", postgresql_where=text("state = 'processing'")),
        # The purge of abandoned bytes: retryable failures by age.
        Index("ix_uploads_failed_retryable", "updated_at", postgresql_where=text("state = 'failed' and retryable")),
    )

    upload_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    creator_id: Mapped[uuid.UUID] = mapped_column(index=True)
    project_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("projects.project_id"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(127))
    size: Mapped[int] = mapped_column(BigInteger)  # Upload-Length
    offset: Mapped[int] = mapped_column(BigInteger, server_default="0")
    sha256: Mapped[str] = mapped_column(String(64))  # declared by the client, hex
    state: Mapped[str] = mapped_column(String(16))
    failure_reason: Mapped[str | None] = mapped_column(String(32))
    retryable: Mapped[bool] = mapped_column(Boolean, server_default="false")
    storage_key: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[datetime | None]  # receiving uploads only: last byte (or creation) + 24 h
    last_byte_at: Mapped[datetime | None]
    processing_started_at: Mapped[datetime | None]
    media: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # Set when the worker found the same content already ready: this upload shares its bytes.
    deduplicated_from: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("uploads.upload_id"))
    bytes_purged_at: Mapped[datetime | None]  # a retryable failure nobody retried: its bytes were deleted
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()


class UploadStateHistory(Base):
    __tablename__ = "upload_state_history"

    history_id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    upload_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("uploads.upload_id"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime] = created_at_column()
