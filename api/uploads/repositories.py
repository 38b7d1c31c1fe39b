"""Every SQL query of the uploads domain."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import exists, insert, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from api.db.models import Project, Upload, UploadStateHistory

_LOCK_NOT_AVAILABLE = "55P03"


class RowLocked(Exception):
    """Another transaction holds the upload row (a PATCH in flight, or the worker processing it)."""


async def add(session: AsyncSession, upload: Upload) -> None:
    session.add(upload)
    await session.flush()


async def get(session: AsyncSession, upload_id: uuid.UUID) -> Upload | None:
    return await session.get(Upload, upload_id)


async def lock(session: AsyncSession, upload_id: uuid.UUID) -> Upload | None:
    """The upload row, locked for this transaction; `RowLocked` at once (NOWAIT) if someone else holds it."""
    query = select(Upload).where(Upload.upload_id == upload_id).with_for_update(nowait=True)
    try:
        return (await session.scalars(query)).first()
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
            raise RowLocked(str(upload_id)) from exc
        raise


async def project_creator(session: AsyncSession, project_id: uuid.UUID) -> uuid.UUID | None:
    creator: uuid.UUID | None = await session.scalar(select(Project.creator_id).where(Project.project_id == project_id))
    return creator


async def ready_with_content(
    session: AsyncSession, creator_id: uuid.UUID, sha256: str, size: int, *, other_than: uuid.UUID | None = None
) -> Upload | None:
    """The creator's oldest ready upload of these bytes (same sha256 and size)."""
    query = (
        select(Upload)
        .where(Upload.creator_id == creator_id, Upload.sha256 == sha256, Upload.size == size, Upload.state == "ready")
        .order_by(Upload.created_at, Upload.upload_id)
        .limit(1)
    )
    if other_than is not None:
        query = query.where(Upload.upload_id != other_than)
    return (await session.scalars(query)).first()


async def add_history(
    session: AsyncSession,
    *,
    upload_id: uuid.UUID,
    from_state: str | None,
    to_state: str,
    reason: str,
    occurred_at: datetime,
) -> int:
    result = await session.execute(
        insert(UploadStateHistory)
        .values(upload_id=upload_id, from_state=from_state, to_state=to_state, reason=reason, occurred_at=occurred_at)
        .returning(UploadStateHistory.history_id)
    )
    history_id: int = result.scalar_one()
    return history_id


async def claim_processing(session: AsyncSession) -> Upload | None:
    """One upload waiting for the worker, oldest first; rows another worker holds are skipped."""
    query = (
        select(Upload)
        .where(Upload.state == "processing")
        .order_by(Upload.processing_started_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(query)).first()


async def receiving_expired(session: AsyncSession, now: datetime, limit: int) -> list[Upload]:
    """Created/uploading uploads past `expires_at`; a PATCH in flight holds its row and is skipped."""
    query = (
        select(Upload)
        .where(Upload.state.in_(("created", "uploading")), Upload.expires_at <= now)
        .order_by(Upload.expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.scalars(query)).all())


async def processing_since(session: AsyncSession, started_before: datetime, limit: int) -> list[Upload]:
    query = (
        select(Upload)
        .where(Upload.state == "processing", Upload.processing_started_at <= started_before)
        .order_by(Upload.processing_started_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.scalars(query)).all())


async def abandoned(session: AsyncSession, failed_before: datetime, limit: int) -> list[Upload]:
    """Retryable failures nobody retried since `failed_before`, whose bytes no other upload shares."""
    other = aliased(Upload)
    query = (
        select(Upload)
        .where(
            Upload.state == "failed",
            Upload.retryable,
            Upload.updated_at <= failed_before,
            ~exists().where(other.storage_key == Upload.storage_key, other.upload_id != Upload.upload_id),
        )
        .order_by(Upload.updated_at)
        .limit(limit)
        .with_for_update(of=Upload, skip_locked=True)
    )
    return list((await session.scalars(query)).all())
