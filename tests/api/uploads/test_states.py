"""The state machine, its history, completion, termination, expiry and retry."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from api.db.engine import Database
from api.uploads.jobs import time_out_uploads
from api.uploads.machine import STATES, TRANSITIONS, allowed, retry_target
from api.uploads.storage import LocalUploadStorage
from tests.api.flows import assert_problem
from tests.api.uploads.flows import (
    MiB,
    create,
    head_offset,
    history,
    in_thread,
    notifications,
    patch,
    path_of,
    row,
    status,
    stored_file,
    tus_headers,
    upload_id,
    uploader,
    video_bytes,
)
from tests.conftest import MakeUser


def test_only_the_documented_transitions_are_allowed() -> None:
    forward = {("created", "uploading"), ("uploading", "processing"), ("processing", "ready")}
    failures = {(s, "failed") for s in ("created", "uploading", "processing")}
    retries = {("failed", "processing"), ("failed", "uploading"), ("failed", "created")}
    assert forward | failures | retries == TRANSITIONS
    for pair in itertools.product(STATES, STATES):
        assert allowed(*pair) == (pair in TRANSITIONS), pair
    assert not allowed("ready", "failed")
    assert not allowed("created", "processing")


def test_what_a_retry_resumes() -> None:
    assert retry_target("processing_timeout", 100) == "processing"
    assert retry_target("expired", 100) == "uploading"
    assert retry_target("expired", 0) == "created"
    for reason in ("checksum_mismatch", "size_mismatch", "storage_missing", "terminated", None):
        assert retry_target(reason, 100) is None


async def test_complete_is_409_until_every_byte_arrived_then_idempotent(
    http: httpx.AsyncClient, make_user: MakeUser
) -> None:
    creator = make_user("creator")
    data = video_bytes(1000, seed=30)
    path = await create(http, creator, data)
    assert (await patch(http, creator, path, 0, data[:600])).status_code == 204
    assert_problem(await http.post(f"{path}/complete", headers=creator.headers), 409, "upload_incomplete")
    assert (await patch(http, creator, path, 600, data[600:])).status_code == 204
    for _ in range(2):
        response = await http.post(f"{path}/complete", headers=creator.headers)
        assert response.status_code == 200, response.text
        assert (response.json()["state"], response.json()["offset"]) == ("processing", 1000)
    assert_problem(await http.post(f"{path}/complete", headers=make_user("creator").headers), 404, "not_found")


async def test_termination_deletes_the_bytes_and_the_upload_is_gone(
    http: httpx.AsyncClient, make_user: MakeUser, sql: asyncpg.Connection, storage: LocalUploadStorage
) -> None:
    creator = make_user("creator")
    data = video_bytes(1000, seed=31)
    path = await create(http, creator, data)
    assert (await patch(http, creator, path, 0, data[:400])).status_code == 204
    upload = upload_id(path)
    assert stored_file(storage, creator, upload).exists()

    response = await http.delete(path, headers=tus_headers(creator))
    assert response.status_code == 204
    assert response.headers["tus-resumable"] == "1.0.0"
    assert not stored_file(storage, creator, upload).exists()
    assert (await http.head(path, headers=tus_headers(creator))).status_code == 410
    assert_problem(await patch(http, creator, path, 400, data[400:]), 410, "upload_terminated")
    assert_problem(await http.delete(path, headers=tus_headers(creator)), 410, "upload_terminated")
    body = await status(http, creator, path)
    assert (body["state"], body["failure_reason"], body["retryable"]) == ("failed", "terminated", False)
    assert await history(sql, upload) == [(None, "created"), ("created", "uploading"), ("uploading", "failed")]
    assert await notifications(sql, upload) == []  # the creator asked for it
    assert_problem(await http.post(f"{path}/retry", headers=creator.headers), 409, "upload_not_retryable")


async def test_a_ready_upload_cannot_be_terminated(
    http: httpx.AsyncClient, make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    creator = make_user("creator")
    data = video_bytes(1000, seed=32)
    path = await create(http, creator, data)
    await sql.execute("update uploads set state = 'ready', \"offset\" = size where upload_id = $1", upload_id(path))
    assert_problem(await http.delete(path, headers=tus_headers(creator)), 409, "upload_already_ready")


async def test_no_bytes_for_24h_expires_and_retry_resumes_from_the_stored_offset(
    http: httpx.AsyncClient,
    tus_url: str,
    live_url: str,
    make_user: MakeUser,
    sql: asyncpg.Connection,
    db: Database,
    storage: LocalUploadStorage,
) -> None:
    creator = make_user("creator")
    data = video_bytes(2 * MiB, seed=33)
    first = uploader(tus_url, creator, data, chunk_size=MiB)
    await in_thread(first.upload_chunk)
    path = path_of(first)
    upload = upload_id(path)

    now = datetime.now(UTC)
    assert await time_out_uploads(db, now + timedelta(hours=23)) == 0
    assert await time_out_uploads(db, now + timedelta(hours=24, minutes=1)) == 1
    assert await time_out_uploads(db, now + timedelta(hours=48)) == 0  # once
    body = await status(http, creator, path)
    assert (body["state"], body["failure_reason"], body["retryable"], body["offset"]) == (
        "failed",
        "expired",
        True,
        MiB,
    )
    assert (await http.head(path, headers=tus_headers(creator))).status_code == 410
    assert_problem(await patch(http, creator, path, MiB, data[MiB:]), 410, "upload_expired")
    assert await notifications(sql, upload) == [
        ("upload_failed", str(creator.user_id), "in_app"),
        ("upload_failed", str(creator.user_id), "push"),
    ]
    assert stored_file(storage, creator, upload).read_bytes() == data[:MiB]  # kept for the retry

    retried = await http.post(f"{path}/retry", headers=creator.headers)
    assert retried.status_code == 200, retried.text
    assert (retried.json()["state"], retried.json()["failure_reason"], retried.json()["retryable"]) == (
        "uploading",
        None,
        False,
    )
    assert retried.json()["expires_at"] is not None
    resumed = uploader(tus_url, creator, data, chunk_size=MiB, url=f"{live_url}{path}")
    assert resumed.offset == MiB
    await in_thread(resumed.upload)
    assert (await status(http, creator, path))["state"] == "processing"
    assert await history(sql, upload) == [
        (None, "created"),
        ("created", "uploading"),
        ("uploading", "failed"),
        ("failed", "uploading"),
        ("uploading", "processing"),
    ]


async def test_a_patch_after_the_expiry_fails_the_upload_before_the_worker_does(
    http: httpx.AsyncClient, make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    creator = make_user("creator")
    data = video_bytes(1000, seed=34)
    path = await create(http, creator, data)
    upload = upload_id(path)
    await sql.execute("update uploads set expires_at = now() - interval '1 second' where upload_id = $1", upload)
    assert (await http.head(path, headers=tus_headers(creator))).status_code == 410
    assert_problem(await patch(http, creator, path, 0, data), 410, "upload_expired")
    record = await row(sql, upload)
    assert (record["state"], record["failure_reason"], record["offset"]) == ("failed", "expired", 0)
    assert await history(sql, upload) == [(None, "created"), ("created", "failed")]
    retried = await http.post(f"{path}/retry", headers=creator.headers)
    assert retried.json()["state"] == "created"
    assert (await patch(http, creator, path, 0, data)).status_code == 204
    assert await head_offset(http, creator, path) == 1000


@pytest.mark.parametrize("state", ["created", "uploading", "processing", "ready"])
async def test_retry_of_an_upload_that_did_not_fail_is_409(
    state: str, http: httpx.AsyncClient, make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    creator = make_user("creator")
    path = await create(http, creator, video_bytes(1000, seed=35))
    await sql.execute("update uploads set state = $2 where upload_id = $1", upload_id(path), state)
    assert_problem(await http.post(f"{path}/retry", headers=creator.headers), 409, "upload_not_retryable")


async def test_status_is_for_its_creator_and_ops(http: httpx.AsyncClient, make_user: MakeUser) -> None:
    creator = make_user("creator")
    path = await create(http, creator, video_bytes(1000, seed=36))
    assert (await http.get(path, headers=make_user("ops").headers)).status_code == 200
    assert_problem(await http.get(path, headers=make_user("creator").headers), 404, "not_found")
    assert_problem(await http.get(path, headers=make_user("supporter").headers), 403, "forbidden")
    body = await status(http, creator, path)
    assert set(body) >= {"upload_id", "state", "offset", "size", "sha256", "failure_reason", "retryable", "expires_at"}
