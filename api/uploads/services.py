"""Business rules of uploads: the state machine in the database, creation (with dedupe), reads,
termination, completion and retry (receiving bytes is `receiving.py`).

State changes go through `transition` only: it enforces `machine.TRANSITIONS`, writes the history
row and queues the creator's `upload_ready` / `upload_failed` notification in the same transaction.
The `upload_state_changed` event is client-emitted in event-contract-v1 (a server copy would be
dead-lettered), so the server's record of transitions is `upload_state_history`.

Bytes are deleted only after the transaction that stops referencing them commits, so a row never
points at bytes that are gone while it could still be resumed or processed.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import Principal
from api.db.engine import after_commit
from api.db.models import Upload
from api.errors import Conflict, DomainError, NotFound
from api.notifications import services as notifications
from api.projects.services import ProjectNotFound
from api.uploads import repositories as repo
from api.uploads.digests import RunningDigests
from api.uploads.machine import RECEIVING, RETRYABLE, FailureReason, State, allowed, retry_target
from api.uploads.schemas import UploadCreated, UploadRead
from api.uploads.storage import UploadStorage
from api.uploads.tus import Metadata

RECEIVE_WINDOW = timedelta(hours=24)  # no bytes for this long: `expired`


class UploadNotFound(NotFound):
    """api.md lists no code of its own for this 404: the general `not_found`."""


class UploadGone(DomainError):
    status, code = 410, "upload_failed"


class UploadExpired(UploadGone):
    code = "upload_expired"


class UploadTerminated(UploadGone):
    code = "upload_terminated"


class UploadOffsetMismatch(Conflict):
    code = "upload_offset_mismatch"


class UploadLocked(Conflict):
    code = "upload_locked"


class UploadIncomplete(Conflict):
    code = "upload_incomplete"


class UploadNotRetryable(Conflict):
    code = "upload_not_retryable"


class UploadAlreadyReady(Conflict):
    code = "upload_already_ready"


class InvalidUploadTransition(Conflict):
    code = "invalid_transition"


class UploadLengthExceeded(DomainError):
    status, code = 413, "upload_length_exceeded"


class ChecksumMismatch(DomainError):
    status, code = 460, "checksum_mismatch"


class FileChecksumMismatch(DomainError):
    status, code = 422, "file_checksum_mismatch"


# --- the state machine in the database ---------------------------------------------------------


def upload_read(upload: Upload) -> UploadRead:
    return UploadRead(
        upload_id=upload.upload_id,
        state=upload.state,  # type: ignore[arg-type]  # the column is checked against STATES
        offset=upload.offset,
        size=upload.size,
        sha256=upload.sha256,
        failure_reason=upload.failure_reason,
        retryable=upload.retryable,
        expires_at=upload.expires_at,
        project_id=upload.project_id,
        filename=upload.filename,
        content_type=upload.content_type,
        media=upload.media,
        deduplicated_from=upload.deduplicated_from,
    )


def upload_created(upload: Upload, *, deduplicated: bool) -> UploadCreated:
    return UploadCreated(**msgspec.structs.asdict(upload_read(upload)), deduplicated=deduplicated)


async def transition(
    session: AsyncSession,
    upload: Upload,
    to_state: State,
    *,
    reason: str,
    now: datetime,
    failure: FailureReason | None = None,
) -> None:
    from_state: State = upload.state  # type: ignore[assignment]  # the column is checked against STATES
    if not allowed(from_state, to_state):
        raise InvalidUploadTransition(f"An upload cannot go from {from_state} to {to_state}.")
    upload.state = to_state
    upload.failure_reason = failure if to_state == "failed" else None
    upload.retryable = failure in RETRYABLE
    upload.updated_at = now
    if to_state not in RECEIVING:  # only uploads still receiving bytes can expire
        upload.expires_at = None
    await session.flush()
    history_id = await repo.add_history(
        session,
        upload_id=upload.upload_id,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        occurred_at=now,
    )
    if to_state == "ready" or (to_state == "failed" and failure != "terminated"):  # a termination was asked for
        await notifications.notify(
            session,
            "upload_ready" if to_state == "ready" else "upload_failed",
            dedupe_key=f"{upload.upload_id}:{history_id}",
            payload={
                "upload_id": str(upload.upload_id),
                "project_id": str(upload.project_id) if upload.project_id else None,
                "failure_reason": upload.failure_reason,
            },
            recipients={"creator": [upload.creator_id]},
            now=now,
        )


def past_expiry(upload: Upload, now: datetime) -> bool:
    return upload.state in RECEIVING and upload.expires_at is not None and upload.expires_at <= now


def refuse_gone(upload: Upload) -> None:
    """tus routes answer 410 for failed uploads: their bytes are deleted, or they must be retried first."""
    if upload.state != "failed":
        return
    if upload.failure_reason == "expired":
        raise UploadExpired("The upload expired (no bytes for 24 h); POST …/retry to resume it.")
    if upload.failure_reason == "terminated":
        raise UploadTerminated("The upload was terminated.")
    raise UploadGone(f"The upload failed ({upload.failure_reason}); start a new upload.")


def _owned(upload: Upload | None, principal: Principal, *, ops_may_read: bool = False) -> Upload:
    """Someone else's upload is answered as if it did not exist."""
    if upload is None or (upload.creator_id != principal.user_id and not (ops_may_read and principal.is_ops)):
        raise UploadNotFound("Upload not found.")
    return upload


async def lock_owned(session: AsyncSession, principal: Principal, upload_id: uuid.UUID) -> Upload:
    try:
        upload = await repo.lock(session, upload_id)
    except repo.RowLocked:
        raise UploadLocked("Another request is writing this upload; HEAD for its offset and retry.") from None
    return _owned(upload, principal)


# --- creation, reads, termination, completion, retry --------------------------------------------


async def create(
    session: AsyncSession, creator: Principal, meta: Metadata, length: int, now: datetime
) -> UploadCreated:
    """A new upload, or the creator's ready upload of the same bytes (`deduplicated`, nothing stored)."""
    if meta.project_id is not None and await repo.project_creator(session, meta.project_id) != creator.user_id:
        raise ProjectNotFound("Project not found.")
    existing = await repo.ready_with_content(session, creator.user_id, meta.sha256, length)
    if existing is not None:
        return upload_created(existing, deduplicated=True)
    upload_id = uuid.uuid4()
    upload = Upload(
        upload_id=upload_id,
        creator_id=creator.user_id,
        project_id=meta.project_id,
        filename=meta.filename,
        content_type=meta.content_type,
        size=length,
        offset=0,
        sha256=meta.sha256,
        state="created",
        retryable=False,
        storage_key=f"{creator.user_id}/{upload_id}",
        expires_at=now + RECEIVE_WINDOW,
        created_at=now,
        updated_at=now,
    )
    await repo.add(session, upload)
    await repo.add_history(
        session, upload_id=upload_id, from_state=None, to_state="created", reason="tus creation", occurred_at=now
    )
    return upload_created(upload, deduplicated=False)


async def status(session: AsyncSession, principal: Principal, upload_id: uuid.UUID) -> UploadRead:
    return upload_read(_owned(await repo.get(session, upload_id), principal, ops_may_read=True))


async def offset_of(session: AsyncSession, principal: Principal, upload_id: uuid.UUID, now: datetime) -> Upload:
    """What tus HEAD reports; an upload past its expiry is gone even before the worker marks it."""
    upload = _owned(await repo.get(session, upload_id), principal)
    refuse_gone(upload)
    if past_expiry(upload, now):
        raise UploadExpired("The upload expired (no bytes for 24 h); POST …/retry to resume it.")
    return upload


async def terminate(
    session: AsyncSession,
    storage: UploadStorage,
    digests: RunningDigests,
    principal: Principal,
    upload_id: uuid.UUID,
    now: datetime,
) -> None:
    """tus termination: the bytes are deleted and the upload answers 410 from then on (its record stays).

    A ready upload is the creator's video (and may share its bytes with deduplicated ones): 409.
    The bytes go once the state change has committed.
    """
    upload = await lock_owned(session, principal, upload_id)
    if upload.state == "ready":
        raise UploadAlreadyReady("A ready upload cannot be terminated.")
    if upload.state == "failed":
        if not upload.retryable:
            refuse_gone(upload)
        upload.failure_reason, upload.retryable, upload.updated_at = "terminated", False, now
    else:
        await transition(session, upload, "failed", reason="terminated by the creator", now=now, failure="terminated")
    key = upload.storage_key

    async def delete_bytes() -> None:
        digests.forget(upload_id)
        await storage.delete(key)

    after_commit(session, delete_bytes)


async def complete(session: AsyncSession, principal: Principal, upload_id: uuid.UUID) -> UploadRead:
    """Idempotent: the current status once every byte has arrived."""
    upload = _owned(await repo.get(session, upload_id), principal)
    if upload.offset < upload.size:
        raise UploadIncomplete(f"{upload.offset} of {upload.size} bytes have arrived; PATCH the rest first.")
    return upload_read(upload)


async def retry(session: AsyncSession, principal: Principal, upload_id: uuid.UUID, now: datetime) -> UploadRead:
    """processing_timeout -> processing again; expired -> receiving again from the stored offset."""
    upload = await lock_owned(session, principal, upload_id)
    target = retry_target(upload.failure_reason, upload.offset) if upload.state == "failed" else None
    if target is None or not upload.retryable:
        raise UploadNotRetryable(f"Only a retryable failed upload can be retried (this one is {upload.state}).")
    reason = f"retry after {upload.failure_reason}"
    await transition(session, upload, target, reason=reason, now=now)
    if target == "processing":
        upload.processing_started_at = now
    else:
        upload.expires_at = now + RECEIVE_WINDOW
    return upload_read(upload)
