"""SHA-256 of whole uploads: kept running across PATCHes where possible, recomputed from storage otherwise.

Python cannot persist a hash's internal state, so the running digest of each upload's committed
prefix lives in the API process (`RunningDigests`). A PATCH continuing in the process that took
the previous one hashes only its own bytes; after a restart, or when a load balancer sends the
next PATCH to another process, the last PATCH re-reads the file once (`file_sha256`).
"""

from __future__ import annotations

import hashlib
import uuid
from collections import OrderedDict
from typing import TYPE_CHECKING

import anyio.to_thread

from api.uploads.storage import UploadStorage

if TYPE_CHECKING:
    from hashlib import _Hash as Hash


class RunningDigests:
    """Upload id -> (committed offset, SHA-256 of bytes [0, offset)), least recently used evicted first."""

    def __init__(self, capacity: int = 1024) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[uuid.UUID, tuple[int, Hash]] = OrderedDict()

    def resume(self, upload_id: uuid.UUID, offset: int) -> Hash | None:
        """A digest of the first `offset` bytes to continue from (a copy: a discarded chunk must not touch it)."""
        if offset == 0:
            return hashlib.sha256()
        entry = self._entries.get(upload_id)
        if entry is None or entry[0] != offset:
            return None
        return entry[1].copy()

    def remember(self, upload_id: uuid.UUID, offset: int, digest: Hash) -> None:
        """Call only after `offset` is committed: the entry vouches for bytes that will not change."""
        self._entries[upload_id] = (offset, digest)
        self._entries.move_to_end(upload_id)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)

    def forget(self, upload_id: uuid.UUID) -> None:
        self._entries.pop(upload_id, None)


async def file_sha256(storage: UploadStorage, key: str) -> str:
    digest = hashlib.sha256()
    async for chunk in storage.stream(key):
        await anyio.to_thread.run_sync(digest.update, chunk)  # hashlib releases the GIL on large buffers
    return digest.hexdigest()
