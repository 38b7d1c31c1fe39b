"""Where upload bytes live: a small interface, on local disk or in S3-compatible object storage.

`LocalUploadStorage` keeps one file per upload under `<data_dir>/uploads/` (the default for dev,
tests and single-host deployments). Blocking calls run in worker threads so the event loop keeps
serving other requests while a chunk is written.

`ObjectUploadStorage` (`PATRONAGE_UPLOAD_STORAGE=s3://bucket/prefix`) keeps an upload as one
object per committed PATCH, `<key>/<offset the PATCH starts at, 20 digits>`; the upload is their
concatenation. A PATCH streams into its object (multipart above 8 MiB, so memory stays bounded)
and the object is completed by `sync`, before the offset that vouches for it commits. An object
that starts at or beyond the committed offset belongs to a PATCH whose offset never committed:
`open_append` deletes it. Unlike tusd's single multipart object, this needs no 5 MiB minimum per
PATCH and no staging, and a PATCH is durable (a completed PUT) the moment it is acknowledged.
"""

from __future__ import annotations

import functools
import os
import posixpath
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

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


class StorageCorrupt(RuntimeError):
    """The bytes stored for an upload do not reach its committed offset (deleted behind our back)."""


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
            if (stored := os.fstat(file.fileno()).st_size) < offset:
                file.close()
                raise StorageCorrupt(f"upload {key}: {stored} bytes stored, offset {offset} committed")
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


_OFFSET_DIGITS = 20
PART_BYTES = 8 * 1024 * 1024  # a PATCH above this is sent as a multipart upload of parts this size


@dataclass(frozen=True)
class _Piece:
    start: int
    size: int
    path: str

    @property
    def end(self) -> int:
        return self.start + self.size


class _ObjectAppend:
    """One PATCH's bytes, streamed into the object named by the offset it starts at."""

    def __init__(self, fs: Any, path: str, start: int) -> None:
        self._fs, self._path, self._start = fs, path, start
        self._file: Any = None

    async def write(self, data: bytes | bytearray) -> None:
        if self._file is None:
            opening = functools.partial(self._fs.open, self._path, "wb", block_size=PART_BYTES)
            self._file = await anyio.to_thread.run_sync(opening)
        await anyio.to_thread.run_sync(self._file.write, data)  # copied into the file's buffer

    async def truncate(self, offset: int) -> None:
        if offset != self._start:
            raise ValueError("object storage keeps whole PATCHes: truncate to where this one started")
        await self._discard()

    async def sync(self) -> None:
        if self._file is not None:
            await anyio.to_thread.run_sync(self._file.close)  # completes the PUT (or the multipart upload)
            self._file = None

    async def close(self) -> None:
        await self._discard()  # not synced: never acknowledged

    async def _discard(self) -> None:
        if self._file is not None:
            file, self._file = self._file, None

            def drop() -> None:
                file.discard()  # aborts a multipart upload; nothing was written otherwise
                file.closed = True

            await anyio.to_thread.run_sync(drop)


class ObjectUploadStorage:
    def __init__(self, url: str) -> None:
        import fsspec  # only deployments with object storage need it loaded

        self.url = url
        self.fs, self.root = fsspec.core.url_to_fs(url)

    def _folder(self, key: str) -> str:
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"storage key {key!r} leaves the storage root")
        return posixpath.join(self.root, key)

    async def _pieces(self, key: str) -> list[_Piece]:
        folder = self._folder(key)

        def listing() -> dict[str, Any]:
            self.fs.invalidate_cache(folder)  # other processes write too
            return dict(self.fs.find(folder, detail=True)) if self.fs.exists(folder) else {}

        pieces = []
        for path, info in (await anyio.to_thread.run_sync(listing)).items():
            name = posixpath.basename(path)
            if info.get("type") == "file" and len(name) == _OFFSET_DIGITS and name.isdigit():
                pieces.append(_Piece(int(name), int(info["size"]), path))
        return sorted(pieces, key=lambda piece: piece.start)

    async def open_append(self, key: str, offset: int) -> AppendHandle:
        kept = 0
        for piece in await self._pieces(key):
            if piece.start >= offset:  # its PATCH's offset never committed
                await anyio.to_thread.run_sync(self.fs.rm_file, piece.path)
            elif piece.start != kept or piece.end > offset:
                raise StorageCorrupt(f"upload {key}: stored pieces do not add up to offset {offset}")
            else:
                kept = piece.end
        if kept != offset:
            raise StorageCorrupt(f"upload {key}: {kept} bytes stored, offset {offset} committed")
        return _ObjectAppend(self.fs, posixpath.join(self._folder(key), f"{offset:0{_OFFSET_DIGITS}d}"), offset)

    async def stream(self, key: str, start: int = 0) -> AsyncIterator[bytes]:
        for piece in await self._pieces(key):
            if piece.end <= start:
                continue
            file = await anyio.to_thread.run_sync(functools.partial(self.fs.open, piece.path, "rb"))
            try:
                await anyio.to_thread.run_sync(file.seek, max(start - piece.start, 0))
                while chunk := await anyio.to_thread.run_sync(file.read, READ_CHUNK):
                    yield chunk
            finally:
                await anyio.to_thread.run_sync(file.close)

    async def read_range(self, key: str, start: int, length: int) -> bytes:
        parts = []
        end = start + length
        for piece in await self._pieces(key):
            if piece.end > start and piece.start < end:
                first, last = max(start, piece.start) - piece.start, min(end, piece.end) - piece.start
                reading = functools.partial(self.fs.cat_file, piece.path, start=first, end=last)
                parts.append(await anyio.to_thread.run_sync(reading))
        return b"".join(parts)

    async def size(self, key: str) -> int | None:
        pieces = await self._pieces(key)
        return sum(piece.size for piece in pieces) if pieces else None

    async def delete(self, key: str) -> None:
        for piece in await self._pieces(key):
            await anyio.to_thread.run_sync(self.fs.rm_file, piece.path)


def storage_from(settings: Settings) -> UploadStorage:
    """The upload storage of this deployment: `PATRONAGE_UPLOAD_STORAGE`, a directory or an s3:// URL."""
    where = settings.paths.upload_storage
    return ObjectUploadStorage(where) if isinstance(where, str) else LocalUploadStorage(where)
