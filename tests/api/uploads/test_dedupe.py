"""Creation-time dedupe: the same creator's ready upload of the same sha256 is answered, no bytes stored."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import httpx

from api.db.engine import Database
from api.uploads.jobs import process_uploads
from api.uploads.storage import LocalUploadStorage
from tests.api.flows import assert_problem
from tests.api.uploads.flows import (
    as_documented,
    create,
    files_of,
    head_offset,
    in_thread,
    metadata,
    metadata_header,
    patch,
    path_of,
    tus_headers,
    uploader,
    video_bytes,
)
from tests.conftest import MakeUser, User


async def ready_upload(
    http: httpx.AsyncClient, creator: User, data: bytes, db: Database, storage: LocalUploadStorage
) -> str:
    path = await create(http, creator, data)
    assert (await patch(http, creator, path, 0, data)).status_code == 204
    assert await process_uploads(db, storage, datetime.now(UTC)) == 1
    return path


async def test_the_same_file_again_answers_the_ready_upload(
    http: httpx.AsyncClient,
    tus_url: str,
    make_user: MakeUser,
    sql: asyncpg.Connection,
    db: Database,
    storage: LocalUploadStorage,
) -> None:
    creator = make_user("creator")
    data = video_bytes(50_000, seed=60)
    path = await ready_upload(http, creator, data, db, storage)
    rows, files = await sql.fetchval("select count(*) from uploads"), files_of(storage, creator)

    headers = {
        "Upload-Length": str(len(data)),
        "Upload-Metadata": metadata_header(metadata(data, filename="again.mp4")),
    }
    response = await http.post("/v1/uploads", headers=tus_headers(creator, **headers))
    assert response.status_code == 201, response.text
    assert response.headers["location"] == path
    assert response.headers["upload-deduplicated"] == "true"
    as_documented(response)
    assert response.headers["upload-offset"] == str(len(data))
    body = response.json()
    assert (body["deduplicated"], body["state"], body["filename"]) == (True, "ready", "pitch.mp4")
    assert await sql.fetchval("select count(*) from uploads") == rows
    assert files_of(storage, creator) == files

    # A tus client reads the offset before sending anything: there is nothing left to send.
    assert await head_offset(http, creator, path) == len(data)
    conflict = await patch(http, creator, path, 0, data)
    assert_problem(conflict, 409, "upload_offset_mismatch")
    assert conflict.headers["upload-offset"] == str(len(data))
    # tuspy with a retry recovers the same way: HEAD, then an empty PATCH at the end.
    tus = uploader(tus_url, creator, data, chunk_size=len(data), retries=1, retry_delay=0)
    await in_thread(tus.upload)
    assert path_of(tus) == path
    assert files_of(storage, creator) == files


async def test_dedupe_is_per_creator_and_only_of_ready_uploads(
    http: httpx.AsyncClient, make_user: MakeUser, db: Database, storage: LocalUploadStorage
) -> None:
    creator, other = make_user("creator"), make_user("creator")
    data = video_bytes(20_000, seed=61)
    path = await ready_upload(http, creator, data, db, storage)
    headers = {"Upload-Length": str(len(data)), "Upload-Metadata": metadata_header(metadata(data))}

    response = await http.post("/v1/uploads", headers=tus_headers(other, **headers))
    assert response.status_code == 201
    assert response.headers["location"] != path
    assert "upload-deduplicated" not in response.headers
    assert response.json()["deduplicated"] is False

    in_progress = await create(http, other, data)  # the other creator's first copy is not ready yet
    assert in_progress != response.headers["location"]
    longer = {"Upload-Length": str(len(data) + 1), "Upload-Metadata": metadata_header(metadata(data))}
    assert (await http.post("/v1/uploads", headers=tus_headers(creator, **longer))).json()["deduplicated"] is False
