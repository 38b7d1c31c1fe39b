"""Receiving bytes (tus PATCH): stream the body to storage under the upload's row lock.

The lock (`SELECT … FOR UPDATE NOWAIT`, taken before the body is read) is held until the new offset
commits, so two PATCHes at one offset never interleave: the second is 409 at once. Bytes are made
durable (`sync`) before the offset that vouches for them commits; a disconnect keeps what arrived.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import Principal
from api.db.engine import after_commit, raise_after_commit
from api.db.models import Upload
from api.errors import DomainError
from api.uploads.digests import RunningDigests, file_sha256
from api.uploads.machine import RECEIVING
from api.uploads.services import (
    RECEIVE_WINDOW,
    ChecksumMismatch,
    FileChecksumMismatch,
    UploadExpired,
    UploadGone,
    UploadLengthExceeded,
    UploadOffsetMismatch,
    lock_owned,
    past_expiry,
    refuse_gone,
    transition,
)
from api.uploads.storage import AppendHandle, StorageCorrupt, UploadStorage

if TYPE_CHECKING:
    from hashlib import _Hash as Hash

WRITE_BUFFER = 1024 * 1024  # bytes gathered before one write + hash in a worker thread


class BodyInterrupted(Exception):
    """The client went away (or stalled) mid-body; what arrived before is kept."""


@dataclass
class _Received:
    """What a PATCH did, acted on after its transaction commits."""

    error: DomainError | None = None
    digest: Hash | None = None  # of the committed prefix, to continue from next time
    delete_bytes: bool = False


async def append(
    session: AsyncSession,
    storage: UploadStorage,
    digests: RunningDigests,
    principal: Principal,
    upload_id: uuid.UUID,
    *,
    offset: int,
    content_length: int | None,
    checksum: bytes | None,
    body: AsyncIterator[bytes],
    now: datetime,
) -> Upload:
    """Stream `body` to storage at `offset`, holding the row lock so concurrent PATCHes never interleave.

    What the bytes leave behind (stored bytes to drop, the running digest to keep or forget, a refusal
    whose state change must persist) follows the unit of work's commit."""
    upload = await lock_owned(session, principal, upload_id)
    if past_expiry(upload, now):
        await transition(session, upload, "failed", reason="no bytes for 24 h", now=now, failure="expired")
        received = _Received(error=UploadExpired("The upload expired (no bytes for 24 h)."))
    else:
        refuse_gone(upload)
        if offset != upload.offset:  # any wrong offset, one beyond the length included (tus: 409)
            raise UploadOffsetMismatch(
                f"Upload-Offset is {offset} but the upload is at {upload.offset}.",
                headers={"Upload-Offset": str(upload.offset)},
            )
        if content_length is not None and offset + content_length > upload.size:
            raise UploadLengthExceeded(f"The body would take the upload past its {upload.size} bytes.")
        if upload.state not in RECEIVING:  # every byte is in: only an empty PATCH fits
            if content_length != 0:
                raise UploadLengthExceeded("Every byte of this upload has arrived.")
            return upload
        received = await _receive(session, storage, digests, upload, body, checksum, now)
    key, committed = upload.storage_key, upload.offset

    async def settle() -> None:
        if received.delete_bytes:
            await storage.delete(key)
        if received.digest is not None:
            digests.remember(upload_id, committed, received.digest)
        else:
            digests.forget(upload_id)

    after_commit(session, settle)
    if received.error is not None:
        raise_after_commit(session, received.error)
    return upload


async def _flush(handle: AppendHandle, buffer: bytearray, *digests: Hash | None) -> None:
    await handle.write(buffer)
    for digest in digests:
        if digest is not None:
            await _hash(digest, buffer)


async def _hash(digest: Hash, data: bytes | bytearray) -> None:
    await anyio.to_thread.run_sync(digest.update, data)  # hashlib releases the GIL on large buffers


async def _receive(
    session: AsyncSession,
    storage: UploadStorage,
    digests: RunningDigests,
    upload: Upload,
    body: AsyncIterator[bytes],
    checksum: bytes | None,
    now: datetime,
) -> _Received:
    start, room = upload.offset, upload.size - upload.offset
    whole = digests.resume(upload.upload_id, start)
    chunk = hashlib.sha256() if checksum is not None else None
    written, interrupted, too_long = 0, False, False
    buffer = bytearray()
    try:
        handle = await storage.open_append(upload.storage_key, start)
    except StorageCorrupt as exc:  # the bytes below the offset are gone: the upload cannot resume
        await transition(session, upload, "failed", reason=str(exc), now=now, failure="storage_missing")
        return _Received(error=UploadGone("The upload's stored bytes are gone; start a new upload."), delete_bytes=True)
    try:
        try:
            async for piece in body:
                if written + len(buffer) + len(piece) > room:
                    too_long = True
                    break
                buffer += piece
                if len(buffer) >= WRITE_BUFFER:
                    await _flush(handle, buffer, whole, chunk)
                    written += len(buffer)
                    buffer.clear()
        except BodyInterrupted:
            interrupted = True  # tus: keep what arrived (unless a checksum cannot be verified)
        if buffer and not too_long:
            await _flush(handle, buffer, whole, chunk)
            written += len(buffer)
        if too_long:
            await handle.truncate(start)
            return _Received(
                error=UploadLengthExceeded(f"The body would take the upload past its {upload.size} bytes.")
            )
        if chunk is not None and (interrupted or chunk.digest() != checksum):
            await handle.truncate(start)
            return _Received(
                error=ChecksumMismatch("Upload-Checksum does not match the body; the chunk was discarded.")
            )
        await handle.sync()  # durable before the offset that vouches for it commits
    finally:
        await handle.close()
    return await _advance(session, storage, upload, written, whole, now)


async def _advance(
    session: AsyncSession, storage: UploadStorage, upload: Upload, written: int, whole: Hash | None, now: datetime
) -> _Received:
    if written == 0:
        return _Received(digest=whole)
    upload.offset += written
    upload.last_byte_at, upload.expires_at, upload.updated_at = now, now + RECEIVE_WINDOW, now
    if upload.state == "created":
        await transition(session, upload, "uploading", reason="first bytes received", now=now)
    if upload.offset < upload.size:
        return _Received(digest=whole)
    actual = whole.hexdigest() if whole is not None else await file_sha256(storage, upload.storage_key)
    if actual != upload.sha256:
        await transition(
            session, upload, "failed", reason="sha256 of the file differs from the declared one", now=now,
            failure="checksum_mismatch",
        )  # fmt: skip
        error = FileChecksumMismatch("The file's SHA-256 differs from the declared sha256; its bytes were deleted.")
        return _Received(error=error, delete_bytes=True)
    upload.processing_started_at = now
    await transition(session, upload, "processing", reason="last byte received, sha256 verified", now=now)
    return _Received()
