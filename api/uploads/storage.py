"""Where upload bytes live: a small interface and its local-filesystem implementation.

`LocalUploadStorage` keeps one file per upload under `<data_dir>/uploads/` (the default for dev,
tests and single-host deployments). Blocking file calls run in worker threads so the event loop
keeps serving other requests while a chunk is written.

Production backend: S3-compatible object storage, multipart. `open_append(key, offset)` maps to
the multipart upload of `key` (created on the first chunk, its id kept beside the upload row);
each PATCH's bytes become parts. S3 parts must be at least 5 MiB except the last, so bytes of a
smaller PATCH are staged in a `<key>.part` object and prepended to the next part (tusd's s3store
does the same); `truncate` back to a committed offset drops the uncommitted part. `sync` is a no-op
(a completed part is durable), `stream`/`read_range` are ranged GETs, `size` is HEAD or the parts'
sum, `delete` aborts the multipart upload and deletes the object. The last PATCH completes the
multipart upload; `process_uploads` then reads the object like the local file.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

import anyio.to_thread

if TYPE_CHECKING:
    from api.settings import Settings

READ_CHUNK = 1024 * 1024


class AppendHandle(Protocol):
    """An open upload, positioned at the offset it was opened at; bytes are appended in order."""

    async def write(self, data: bytes | bytearray) -> None: ...

    async def truncate(self, offset: int) -> None:
        """Forget every byte at or after `offset` (a discarded chunk)."""

    async def sync(self) -> None:
        """Make the bytes written so far durable: called before the offset is committed."""

    async def close(self) -> None: ...


class UploadStorage(Protocol):
    async def open_append(self, key: str, offset: int) -> AppendHandle:
        """Open `key` for appending at `offset`, dropping any bytes stored beyond it (an uncommitted write)."""

    def stream(self, key: str, start: int = 0) -> AsyncIterator[bytes]:
        """The bytes of `key` from `start`, in chunks."""

    async def read_range(self, key: str, start: int, length: int) -> bytes:
        """Up to `length` bytes from `start` (fewer at the end)."""

    async def size(self, key: str) -> int | None:
        """Bytes stored for `key`, or None when nothing is."""

    async def delete(self, key: str) -> None:
        """Remove `key`; removing a missing key is not an error."""


class _LocalAppend:
    def __init__(self, file: BinaryIO) -> None:
        self._file = file

    async def write(self, data: bytes | bytearray) -> None:
        await anyio.to_thread.run_sync(self._file.write, data)

    async def truncate(self, offset: int) -> None:
        def cut() -> None:
            self._file.truncate(offset)
            self._file.seek(offset)

        await anyio.to_thread.run_sync(cut)

    async def sync(self) -> None:
        def flush() -> None:
            self._file.flush()
            os.fsync(self._file.fileno())

        await anyio.to_thread.run_sync(flush)

    async def close(self) -> None:
        await anyio.to_thread.run_sync(self._file.close)


class LocalUploadStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"storage key {key!r} leaves the storage root")
        return path

    async def open_append(self, key: str, offset: int) -> AppendHandle:
        path = self.path(key)

        def open_at() -> BinaryIO:
            path.parent.mkdir(parents=True, exist_ok=True)
            file = open(path, "r+b" if path.exists() else "w+b")  # noqa: SIM115 (closed by the handle)
            file.truncate(offset)  # bytes past the committed offset were never acknowledged
            file.seek(offset)
            return file

        return _LocalAppend(await anyio.to_thread.run_sync(open_at))

    async def stream(self, key: str, start: int = 0) -> AsyncIterator[bytes]:
        file = await anyio.to_thread.run_sync(open, self.path(key), "rb")
        try:
            await anyio.to_thread.run_sync(file.seek, start)
            while chunk := await anyio.to_thread.run_sync(file.read, READ_CHUNK):
                yield chunk
        finally:
            await anyio.to_thread.run_sync(file.close)

    async def read_range(self, key: str, start: int, length: int) -> bytes:
        def read() -> bytes:
            with open(self.path(key), "rb") as file:
                file.seek(start)
                return file.read(length)

        return await anyio.to_thread.run_sync(read)

    async def size(self, key: str) -> int | None:
        def stat() -> int | None:
            try:
                return self.path(key).stat().st_size
            except FileNotFoundError:
                return None

        return await anyio.to_thread.run_sync(stat)

    async def delete(self, key: str) -> None:
        await anyio.to_thread.run_sync(lambda: self.path(key).unlink(missing_ok=True))


def storage_from(settings: Settings) -> UploadStorage:
    """The upload storage of this deployment: `<data_dir>/uploads/` (an object store adapter plugs in here)."""
    return LocalUploadStorage(settings.paths.data_dir / "uploads")
