"""File locations: landing and dead-letter files in a local directory, or in object storage by URL.

`PATRONAGE_LANDING_DIR` and `PATRONAGE_DEAD_LETTER_DIR` take a path or an fsspec URL such as
`s3://bucket/prefix`; S3 credentials, region and endpoint come from the standard AWS variables
(`AWS_ENDPOINT_URL` for an S3-compatible store such as MinIO). A written file appears whole: a
local one is written beside its target, fsynced and renamed into place; an object is one PUT.
"""

from __future__ import annotations

import os
import posixpath
import socket
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

PathOrUrl = Path | str  # a local directory, or a URL


@dataclass(frozen=True)
class StoredFile:
    relative: str  # below the location, with "/" separators
    size: int
    modified: datetime


TEMPORARY = ".tmp"  # a local file being written: `<target>.<random>.tmp`, renamed to its target when whole


class Location:
    """A directory or an object-store prefix, and the files below it."""

    def __init__(self, where: PathOrUrl) -> None:
        self.url = str(where)
        self.fs, self.root = fsspec.core.url_to_fs(self.url)
        self.local = isinstance(self.fs, LocalFileSystem)

    def __str__(self) -> str:
        return self.url

    def _path(self, relative: str) -> str:
        return posixpath.join(self.root, relative)

    def files(self, *suffixes: str) -> list[StoredFile]:
        """Every file below the location whose name ends with one of `suffixes`, by relative path."""
        self.fs.invalidate_cache()  # object listings are cached per process; new files must show up
        if not self.fs.exists(self.root):
            return []
        found = []
        prefix = self.root.rstrip("/") + "/"
        for path, info in self.fs.find(self.root, detail=True).items():
            if info.get("type") == "file" and path.endswith(suffixes):
                found.append(StoredFile(path.removeprefix(prefix), int(info["size"]), _modified(info)))
        return sorted(found, key=lambda f: f.relative)

    def exists(self, relative: str) -> bool:
        return bool(self.fs.exists(self._path(relative)))

    def read_bytes(self, relative: str) -> bytes:
        return bytes(self.fs.cat_file(self._path(relative)))

    def write(self, relative: str, data: bytes) -> None:
        """Create or replace the file; readers see the old content or the new, never a part."""
        self.write_parts(relative, [data])

    def write_parts(self, relative: str, parts: Iterable[bytes]) -> None:
        """`write`, the content given piece by piece (never whole in memory): a local file is written beside its
        target and renamed into place, an object is uploaded in parts and appears when the upload completes."""
        target = self._path(relative)
        if not self.local:
            with self.fs.open(target, "wb") as handle:
                for part in parts:
                    handle.write(part)
            return
        os.makedirs(posixpath.dirname(target), exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(  # named after its target: a killed writer's leftover is findable
            dir=posixpath.dirname(target), prefix=posixpath.basename(target) + ".", suffix=TEMPORARY
        )
        try:
            with os.fdopen(descriptor, "wb") as handle:
                for part in parts:
                    handle.write(part)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def local_path(self, relative: str) -> str | None:
        """The file's absolute path on this machine's disk; None for an object in a store."""
        return os.path.abspath(self._path(relative)) if self.local else None

    def open_read(self, relative: str) -> IO[bytes]:
        """The file as a stream, for reading it piece by piece."""
        return self.fs.open(self._path(relative), "rb")  # type: ignore[no-any-return]

    def delete(self, relative: str) -> None:
        if self.exists(relative):
            self.fs.rm_file(self._path(relative))


def _modified(info: dict[str, Any]) -> datetime:
    if isinstance(info.get("LastModified"), datetime):  # S3
        return info["LastModified"].astimezone(UTC)  # type: ignore[no-any-return]
    return datetime.fromtimestamp(float(info["mtime"]), tz=UTC)  # local


HOST = socket.gethostname()


def owner_tag() -> str:
    """`<pid>@<host>`: what a directory named after its process carries, so that on a disk several machines share
    (a Spark lake) each sweeps only its own processes' leftovers."""
    return f"{os.getpid()}@{HOST}"


def abandoned(tag: str) -> bool:
    """Whether the process `tag` names (`<pid>@<host>`, or a bare `<pid>` of this machine) is gone; a process of
    another machine is never taken for gone, since this one cannot see it."""
    pid, _, host = tag.partition("@")
    return pid.isdigit() and host in ("", HOST) and not process_alive(int(pid))


def process_alive(pid: int) -> bool:
    """Whether a process runs with this id: a file or directory named for a dead one is a leftover to remove."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True
