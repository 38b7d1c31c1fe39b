"""The worker's steps, called directly with a chosen `now`: processing to ready, failures, timeouts, retry."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from api.db.engine import Database
from api.uploads.jobs import process_uploads, purge_abandoned, time_out_uploads
from api.uploads.storage import LocalUploadStorage
from tests.api.flows import assert_problem
from tests.api.uploads.flows import (
    create,
    history,
    mp4_bytes,
    notifications,
    patch,
    row,
    status,
    stored_file,
    upload_id,
    video_bytes,
)
from tests.conftest import MakeUser, User


async def uploaded(http: httpx.AsyncClient, creator: User, data: bytes) -> str:
    """An upload whose last byte arrived (state processing)."""
    path = await create(http, creator, data)
    response = await patch(http, creator, path, 0, data)
    assert response.status_code == 204, response.text
    return path


async def test_processing_marks_ready_with_media_facts_and_notifies(
    http: httpx.AsyncClient, make_user: MakeUser, sql: asyncpg.Connection, db: Database, storage: LocalUploadStorage
) -> None:
    creator = make_user("creator")
    data = mp4_bytes(12.5)
    path = await uploaded(http, creator, data)
    upload = upload_id(path)

    assert await process_uploads(db, storage, datetime.now(UTC)) == 1
    assert await process_uploads(db, storage, datetime.now(UTC)) == 0
    body = await status(http, creator, path)
    assert (body["state"], body["failure_reason"], body["retryable"]) == ("ready", None, False)
    assert body["media"] == {
        "size_bytes": len(data),
        "content_type": "video/mp4",
        "container": "iso_bmff",
        "brand": "isom",
        "duration_seconds": 12.5,
    }
    assert stored_file(storage, creator, upload).read_bytes() == data
    assert (await history(sql, upload))[-1] == ("processing", "ready")
    assert await notifications(sql, upload) == [
        ("upload_ready", str(creator.user_id), "in_app"),
        ("upload_ready", str(creator.user_id), "push"),
    ]


async def test_bytes_changed_in_storage_fail_the_upload(
    http: httpx.AsyncClient, make_user: MakeUser, sql: asyncpg.Connection, db: Database, storage: LocalUploadStorage
) -> None:
    creator = make_user("creator")
    tampered, truncated = video_bytes(5000, seed=40), video_bytes(5000, seed=41)
    paths = [await uploaded(http, creator, tampered), await uploaded(http, creator, truncated)]
    first, second = (stored_file(storage, creator, upload_id(p)) for p in paths)
    first.write_bytes(bytes([tampered[0] ^ 0xFF]) + tampered[1:])
    second.write_bytes(truncated[:4000])

    assert await process_uploads(db, storage, datetime.now(UTC)) == 2
    outcomes = [(await status(http, creator, p))["failure_reason"] for p in paths]
    assert outcomes == ["checksum_mismatch", "size_mismatch"]
    assert not first.exists()
    assert not second.exists()
    for path in paths:
        assert [n[0] for n in await notifications(sql, upload_id(path))] == ["upload_failed", "upload_failed"]
        assert (await status(http, creator, path))["retryable"] is False


async def test_missing_bytes_fail_the_upload(
    http: httpx.AsyncClient, make_user: MakeUser, db: Database, storage: LocalUploadStorage
) -> None:
    creator = make_user("creator")
    path = await uploaded(http, creator, video_bytes(3000, seed=42))
    stored_file(storage, creator, upload_id(path)).unlink()
    assert await process_uploads(db, storage, datetime.now(UTC)) == 1
    assert (await status(http, creator, path))["failure_reason"] == "storage_missing"


async def test_processing_over_15_minutes_times_out_and_retry_restarts_it(
    http: httpx.AsyncClient, make_user: MakeUser, sql: asyncpg.Connection, db: Database, storage: LocalUploadStorage
) -> None:
    creator = make_user("creator")
    path = await uploaded(http, creator, video_bytes(3000, seed=43))
    upload = upload_id(path)
    started = (await row(sql, upload))["processing_started_at"]

    assert await time_out_uploads(db, started + timedelta(minutes=14)) == 0
    assert await time_out_uploads(db, started + timedelta(minutes=15, seconds=1)) == 1
    body = await status(http, creator, path)
    assert (body["state"], body["failure_reason"], body["retryable"]) == ("failed", "processing_timeout", True)
    assert [n[0] for n in await notifications(sql, upload)] == ["upload_failed", "upload_failed"]
    assert await process_uploads(db, storage, datetime.now(UTC)) == 0  # failed uploads are not processed

    retried = await http.post(f"{path}/retry", headers=creator.headers)
    assert retried.status_code == 200, retried.text
    assert (retried.json()["state"], retried.json()["retryable"]) == ("processing", False)
    assert await process_uploads(db, storage, datetime.now(UTC)) == 1
    assert (await status(http, creator, path))["state"] == "ready"
    assert await history(sql, upload) == [
        (None, "created"),
        ("created", "uploading"),
        ("uploading", "processing"),
        ("processing", "failed"),
        ("failed", "processing"),
        ("processing", "ready"),
    ]


async def test_an_upload_being_processed_is_skipped_by_other_workers(
    http: httpx.AsyncClient, make_user: MakeUser, database_url: str, db: Database, storage: LocalUploadStorage
) -> None:
    from tests.conftest import _dsn

    creator = make_user("creator")
    path = await uploaded(http, creator, video_bytes(3000, seed=44))
    other_worker = await asyncpg.connect(_dsn(database_url))
    try:
        async with other_worker.transaction():
            await other_worker.execute("select 1 from uploads where upload_id = $1 for update", upload_id(path))
            assert await process_uploads(db, storage, datetime.now(UTC)) == 0
            assert await time_out_uploads(db, datetime.now(UTC) + timedelta(hours=1)) == 0
    finally:
        await other_worker.close()
    assert await process_uploads(db, storage, datetime.now(UTC)) == 1


async def test_the_same_bytes_uploaded_twice_in_parallel_share_storage(
    http: httpx.AsyncClient, make_user: MakeUser, sql: asyncpg.Connection, db: Database, storage: LocalUploadStorage
) -> None:
    creator = make_user("creator")
    data = mp4_bytes(3.0, seed=45)
    first, second = await create(http, creator, data), await create(http, creator, data)  # neither is ready yet
    for path in (first, second):
        assert (await patch(http, creator, path, 0, data)).status_code == 204

    assert await process_uploads(db, storage, datetime.now(UTC)) == 2
    original, duplicate = await status(http, creator, first), await status(http, creator, second)
    assert original["state"] == duplicate["state"] == "ready"
    assert duplicate["deduplicated_from"] == original["upload_id"]
    assert duplicate["media"] == original["media"]
    assert not stored_file(storage, creator, upload_id(second)).exists()
    shared = (await row(sql, upload_id(second)))["storage_key"]
    assert hashlib.sha256(storage.path(shared).read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()


async def test_bytes_of_retryable_failures_nobody_retried_are_deleted_after_30_days(
    http: httpx.AsyncClient, make_user: MakeUser, sql: asyncpg.Connection, db: Database, storage: LocalUploadStorage
) -> None:
    creator = make_user("creator")
    data = video_bytes(4096)
    path = await create(http, creator, data)
    assert (await patch(http, creator, path, 0, data[:1000])).status_code == 204
    upload = upload_id(path)
    failed_at = datetime.now(UTC) + timedelta(hours=25)
    assert await time_out_uploads(db, failed_at) == 1  # expired: retryable, bytes kept

    assert await purge_abandoned(db, storage, failed_at + timedelta(days=29)) == 0
    assert stored_file(storage, creator, upload).exists()
    assert await purge_abandoned(db, storage, failed_at + timedelta(days=30)) == 1
    assert not stored_file(storage, creator, upload).exists()
    body = await status(http, creator, path)
    assert (body["state"], body["failure_reason"], body["retryable"]) == ("failed", "expired", False)
    assert_problem(await http.post(f"{path}/retry", headers=creator.headers), 409, "upload_not_retryable")
    assert (await history(sql, upload))[-1] == ("failed", "failed")
    assert (await row(sql, upload))["bytes_purged_at"] is not None
    assert await purge_abandoned(db, storage, failed_at + timedelta(days=60)) == 0


async def test_bytes_another_upload_shares_are_never_purged(
    http: httpx.AsyncClient, make_user: MakeUser, sql: asyncpg.Connection, db: Database, storage: LocalUploadStorage
) -> None:
    creator = make_user("creator")
    first, second = (
        await create(http, creator, video_bytes(100, seed=1)),
        await create(http, creator, video_bytes(100, seed=2)),
    )
    await patch(http, creator, first, 0, video_bytes(100, seed=1)[:10])
    await sql.execute(
        "update uploads set storage_key = (select storage_key from uploads where upload_id = $1) where upload_id = $2",
        upload_id(first),
        upload_id(second),
    )
    failed_at = datetime.now(UTC) + timedelta(hours=25)
    assert await time_out_uploads(db, failed_at) == 2
    assert await purge_abandoned(db, storage, failed_at + timedelta(days=31)) == 0
    assert stored_file(storage, creator, upload_id(first)).exists()
