"""The worker's upload steps: process uploads whose last byte arrived, time out stalled ones, and
delete the bytes of retryable failures nobody retried for 30 days.

Plain async functions of `now` (the worker calls them in its loops; tests call them directly).
Both claim rows with `FOR UPDATE SKIP LOCKED`, so several workers never take the same upload and a
PATCH in flight (which holds its row) is never timed out under its feet.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from api.db.engine import Database
from api.db.models import Upload
from api.uploads import repositories as repo
from api.uploads.digests import file_sha256
from api.uploads.media import media_facts
from api.uploads.services import transition
from api.uploads.storage import UploadStorage

log = logging.getLogger(__name__)

PROCESSING_TIMEOUT = timedelta(minutes=15)
ABANDONED_AFTER = timedelta(days=30)


async def process_uploads(db: Database, storage: UploadStorage, now: datetime, *, limit: int = 10) -> int:
    """Verify size and sha256 from storage, read media facts, mark `ready` (or `failed`). One upload per
    transaction, so a large file's hashing holds one row lock only. Returns how many were processed."""
    done = 0
    while done < limit:
        async with db.transaction() as session:
            upload = await repo.claim_processing(session)
            if upload is None:
                break
            delete_key = await _process(session, storage, upload, now)
        if delete_key is not None:
            await storage.delete(delete_key)
        done += 1
    return done


async def _process(session: AsyncSession, storage: UploadStorage, upload: Upload, now: datetime) -> str | None:
    """Returns a storage key to delete once the transaction has committed."""
    key = upload.storage_key
    stored = await storage.size(key)
    if stored is None:
        await transition(session, upload, "failed", reason="no stored bytes", now=now, failure="storage_missing")
        return None
    if stored != upload.size:
        reason = f"{stored} bytes stored, {upload.size} declared"
        await transition(session, upload, "failed", reason=reason, now=now, failure="size_mismatch")
        return key
    if await file_sha256(storage, key) != upload.sha256:
        reason = "stored bytes differ from the declared sha256"
        await transition(session, upload, "failed", reason=reason, now=now, failure="checksum_mismatch")
        return key
    original = await repo.ready_with_content(
        session, upload.creator_id, upload.sha256, upload.size, other_than=upload.upload_id
    )
    if original is not None:  # the same bytes became ready meanwhile (two uploads in parallel): share them
        upload.deduplicated_from, upload.storage_key, upload.media = (
            original.upload_id,
            original.storage_key,
            original.media,
        )
        await transition(session, upload, "ready", reason=f"same bytes as {original.upload_id}", now=now)
        return key
    upload.media = await media_facts(storage, key, upload.size, upload.content_type)
    await transition(session, upload, "ready", reason="processed", now=now)
    return None


async def time_out_uploads(db: Database, now: datetime, *, limit: int = 500) -> int:
    """No bytes for 24 h while receiving -> `expired`; processing for over 15 min -> `processing_timeout`.

    Both are retryable and keep their bytes (`POST …/retry`). Returns how many uploads failed.
    """
    async with db.transaction() as session:
        expired = await repo.receiving_expired(session, now, limit)
        for upload in expired:
            await transition(session, upload, "failed", reason="no bytes for 24 h", now=now, failure="expired")
        stuck = await repo.processing_since(session, now - PROCESSING_TIMEOUT, limit)
        for upload in stuck:
            reason = "processing took over 15 min"
            await transition(session, upload, "failed", reason=reason, now=now, failure="processing_timeout")
    return len(expired) + len(stuck)


async def purge_abandoned(db: Database, storage: UploadStorage, now: datetime, *, limit: int = 100) -> int:
    """Delete the bytes of uploads that failed retryably (`expired`, `processing_timeout`) and were not
    retried for 30 days; they stay `failed`, no longer retryable, with the purge in their history.
    The rows commit first: a deletion that then fails leaves bytes nobody points to (logged), never
    an upload that claims bytes it no longer has. Returns how many uploads were purged."""
    async with db.transaction() as session:
        uploads = await repo.abandoned(session, now - ABANDONED_AFTER, limit)
        for upload in uploads:
            upload.retryable, upload.bytes_purged_at = False, now
            await repo.add_history(
                session,
                upload_id=upload.upload_id,
                from_state="failed",
                to_state="failed",
                reason=f"bytes deleted: {upload.failure_reason} and not retried for {ABANDONED_AFTER.days} days",
                occurred_at=now,
            )
        keys = [upload.storage_key for upload in uploads]
    for key in keys:
        try:
            await storage.delete(key)
        except Exception:
            log.exception("the bytes of abandoned upload %s could not be deleted", key)
    return len(keys)
