"""Resumable upload throughput and memory: a 1 GiB tus upload in 8 MiB PATCHes against writing the same
bytes straight to disk in the same run, and the API process's peak RSS while it streams.

    uv run python -m bench.upload_bench [--size-mib 1024] [--chunk-mib 8]

Runs the API as its own uvicorn process on embedded PostgreSQL (a scratch database on the cluster
under .patronage/bench-pg), uploads from this process over loopback with one keep-alive connection
(tus PATCHes of one upload are sequential), then lets the worker step `process_uploads` verify it.
The disk baseline writes and fsyncs every chunk, as the API does before committing an offset.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import os
import random
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import psutil

from api.auth import Role, issue_token
from api.db import migrate
from api.db.embedded import start_embedded
from api.db.engine import Database
from api.settings import settings_from
from api.uploads.jobs import process_uploads
from api.uploads.storage import LocalUploadStorage
from bench.server import uvicorn_server

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-" + "b" * 40
DATABASE = "patronage_upload_bench"
MiB = 1024 * 1024


def chunks(size: int, chunk: int) -> Iterator[bytes]:
    """`size` bytes in `chunk`-sized pieces, distinct per piece, without holding the file in memory."""
    block = random.Random(7).randbytes(chunk)
    for index, start in enumerate(range(0, size, chunk)):
        piece = index.to_bytes(8, "big") + block[8:]
        yield piece[: min(chunk, size - start)]


class PeakRss:
    """Samples a process's resident set size every 10 ms in a thread."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.start = self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def disk_baseline(path: Path, size: int, chunk: int) -> float:
    """Seconds to write and fsync the same bytes chunk by chunk."""
    started = time.perf_counter()
    with open(path, "wb") as file:
        for piece in chunks(size, chunk):
            file.write(piece)
            file.flush()
            os.fsync(file.fileno())
    elapsed = time.perf_counter() - started
    path.unlink()
    return elapsed


def upload(base: str, token: str, size: int, chunk: int, sha256: str) -> tuple[str, float]:
    """Create and PATCH the whole file; seconds from creation to the last PATCH's answer."""
    meta = {"filename": "bench.mp4", "content_type": "video/mp4", "sha256": sha256}
    header = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in meta.items())
    auth = {"Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0"}
    with httpx.Client(base_url=base, timeout=600) as http:
        started = time.perf_counter()
        created = http.post("/v1/uploads", headers={**auth, "Upload-Length": str(size), "Upload-Metadata": header})
        created.raise_for_status()
        path, offset = created.headers["location"], 0
        for piece in chunks(size, chunk):
            headers = {**auth, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"}
            response = http.patch(path, headers=headers, content=piece)
            if response.status_code != 204:
                raise RuntimeError(f"PATCH at {offset}: {response.status_code} {response.text}")
            offset = int(response.headers["upload-offset"])
        elapsed = time.perf_counter() - started
        state = http.get(path, headers=auth).json()["state"]
    if state != "processing":
        raise RuntimeError(f"upload ended {state}")
    return path, elapsed


async def scratch_database() -> str:
    url = start_embedded(ROOT / ".patronage" / "bench-pg", database=DATABASE)
    dsn = url.replace("postgresql+asyncpg", "postgresql")
    admin = await asyncpg.connect(dsn.replace(f"/{DATABASE}?", "/postgres?"))
    await admin.execute(f"drop database if exists {DATABASE} with (force)")
    await admin.execute(f"create database {DATABASE}")
    await admin.close()
    await asyncio.to_thread(migrate.upgrade, url)
    return url


async def verify(url: str, storage: LocalUploadStorage) -> float:
    """Seconds the worker step takes to re-hash and mark the upload ready."""
    db = Database.connect(url, pool_size=2)
    try:
        started = time.perf_counter()
        assert await process_uploads(db, storage, datetime.now(UTC)) == 1
        return time.perf_counter() - started
    finally:
        await db.dispose()


async def main(size: int, chunk: int) -> None:
    url = await scratch_database()
    data_dir = ROOT / ".patronage" / "upload-bench"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PATRONAGE_JWT_SECRET": SECRET,
        "PATRONAGE_ENV": "test",
        "PATRONAGE_DATA_DIR": str(data_dir),
    }
    settings = settings_from(env)
    storage = LocalUploadStorage(data_dir / "uploads")
    sha256 = hashlib.sha256()
    for piece in chunks(size, chunk):
        sha256.update(piece)
    token = issue_token(settings.auth, uuid.uuid4(), Role.creator)

    data_dir.mkdir(parents=True, exist_ok=True)
    disk_seconds = disk_baseline(data_dir / "baseline.bin", size, chunk)  # same filesystem as the uploads
    with uvicorn_server("api.app:create_app", env) as (server, port), PeakRss(server.pid) as rss:
        path, api_seconds = await asyncio.to_thread(
            upload, f"http://127.0.0.1:{port}", token, size, chunk, sha256.hexdigest()
        )
    verify_seconds = await verify(url, storage)
    shutil.rmtree(storage.root)  # a scratch directory: the bench's bytes are not kept

    mb = size / 1e6
    print(f"upload {path}: {size // MiB} MiB in {chunk // MiB} MiB PATCHes")
    print(
        "| workload | API MB/s | disk MB/s (write+fsync per chunk) | ratio | API RSS start → peak MiB | worker verify MB/s |"
    )
    print("|---|---|---|---|---|---|")
    print(
        f"| tus upload {size // MiB} MiB / {chunk // MiB} MiB PATCH | {mb / api_seconds:,.0f} | {mb / disk_seconds:,.0f} | "
        f"{disk_seconds / api_seconds:.2f} | {rss.start / MiB:.0f} → {rss.peak / MiB:.0f} (+{(rss.peak - rss.start) / MiB:.0f}) | "
        f"{mb / verify_seconds:,.0f} |"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--chunk-mib", type=int, default=8)
    args = parser.parse_args()
    asyncio.run(main(args.size_mib * MiB, args.chunk_mib * MiB))
