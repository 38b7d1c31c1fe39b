"""tus 1.0.0 end to end with tuspy over real HTTP: discovery, chunked upload, resume, checksum."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import socket
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
from tusclient.exceptions import TusUploadFailed

from api.uploads.storage import LocalUploadStorage
from tests.api.flows import assert_problem
from tests.api.uploads.flows import (
    TUS,
    MiB,
    Sha256Uploader,
    as_documented,
    create,
    head_offset,
    history,
    in_thread,
    metadata,
    metadata_header,
    notifications,
    patch,
    path_of,
    status,
    stored_file,
    tus_headers,
    upload_id,
    uploader,
    video_bytes,
)
from tests.conftest import MakeUser


async def test_options_advertises_the_protocol_without_auth(http: httpx.AsyncClient) -> None:
    response = await http.options("/v1/uploads")
    assert response.status_code == 204
    assert response.headers["tus-resumable"] == "1.0.0"
    assert response.headers["tus-version"] == "1.0.0"
    assert set(response.headers["tus-extension"].split(",")) == {"creation", "expiration", "checksum", "termination"}
    assert response.headers["tus-checksum-algorithm"] == "sha256"
    assert int(response.headers["tus-max-size"]) == 10 * 1024**3


async def test_tuspy_uploads_a_file_in_chunks(
    http: httpx.AsyncClient, tus_url: str, make_user: MakeUser, sql: asyncpg.Connection, storage: LocalUploadStorage
) -> None:
    creator = make_user("creator")
    data = video_bytes(3 * MiB + 123)
    tus = uploader(tus_url, creator, data, chunk_size=MiB)
    await in_thread(tus.upload)

    path = path_of(tus)
    upload = upload_id(path)
    body = await status(http, creator, path)
    assert body["state"] == "processing"
    assert (body["offset"], body["size"]) == (len(data), len(data))
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["failure_reason"] is None
    assert body["expires_at"] is None
    assert stored_file(storage, creator, upload).read_bytes() == data
    assert await history(sql, upload) == [(None, "created"), ("created", "uploading"), ("uploading", "processing")]

    response = await http.head(path, headers=tus_headers(creator))
    assert response.status_code == 200
    assert response.headers["upload-offset"] == response.headers["upload-length"] == str(len(data))
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["tus-resumable"] == "1.0.0"


async def test_creation_answers_location_and_expiry(http: httpx.AsyncClient, make_user: MakeUser) -> None:
    creator = make_user("creator")
    path = await create(http, creator, video_bytes(1000))
    response = await http.head(path, headers=tus_headers(creator))
    assert response.headers["upload-offset"] == "0"
    assert response.headers["upload-length"] == "1000"
    assert response.headers["upload-expires"].endswith(" GMT")
    body = await status(http, creator, path)
    assert (body["state"], body["retryable"], body["filename"]) == ("created", False, "pitch.mp4")


async def test_an_interrupted_upload_resumes_from_the_server_offset(
    http: httpx.AsyncClient, tus_url: str, make_user: MakeUser, storage: LocalUploadStorage
) -> None:
    creator = make_user("creator")
    data = video_bytes(2 * MiB + 7, seed=2)
    first = uploader(tus_url, creator, data, chunk_size=512 * 1024)
    await in_thread(first.upload_chunk)
    await in_thread(first.upload_chunk)  # the app is killed here
    path = path_of(first)

    resumed = uploader(tus_url, creator, data, chunk_size=512 * 1024, url=str(first.url))
    assert resumed.offset == MiB  # tuspy asked the server (HEAD)
    await in_thread(resumed.upload)

    assert (await status(http, creator, path))["state"] == "processing"
    assert stored_file(storage, creator, upload_id(path)).read_bytes() == data


async def test_a_client_disconnecting_mid_patch_keeps_the_bytes_received(
    http: httpx.AsyncClient, live_url: str, tus_url: str, make_user: MakeUser, storage: LocalUploadStorage
) -> None:
    creator = make_user("creator")
    data = video_bytes(MiB, seed=3)
    path = await create(http, creator, data)
    sent = 300_000
    host, port = urlsplit(live_url).hostname, urlsplit(live_url).port
    head = (
        f"PATCH {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {creator.headers['Authorization']}\r\n"
        f"Tus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    ).encode()
    with socket.create_connection((str(host), int(port or 80))) as raw:
        raw.sendall(head + data[:sent])
        await asyncio.sleep(0.3)
    for _ in range(100):  # the server notices the disconnect asynchronously
        if await head_offset(http, creator, path) == sent:
            break
        await asyncio.sleep(0.05)
    assert await head_offset(http, creator, path) == sent
    assert stored_file(storage, creator, upload_id(path)).read_bytes() == data[:sent]

    resumed = uploader(tus_url, creator, data, chunk_size=MiB, url=f"{live_url}{path}")
    await in_thread(resumed.upload)
    assert (await status(http, creator, path))["state"] == "processing"


async def test_tuspy_checksum_extension(http: httpx.AsyncClient, tus_url: str, make_user: MakeUser) -> None:
    creator = make_user("creator")
    data = video_bytes(MiB + 1, seed=4)
    tus = uploader(tus_url, creator, data, chunk_size=256 * 1024, cls=Sha256Uploader, upload_checksum=True)
    await in_thread(tus.upload)
    assert (await status(http, creator, path_of(tus)))["state"] == "processing"


async def test_a_corrupted_chunk_is_460_and_discarded(
    http: httpx.AsyncClient, make_user: MakeUser, storage: LocalUploadStorage
) -> None:
    creator = make_user("creator")
    data = video_bytes(200_000, seed=5)
    path = await create(http, creator, data)
    chunk = data[:100_000]
    corrupted = bytes([chunk[0] ^ 0xFF]) + chunk[1:]
    checksum = "sha256 " + base64.b64encode(hashlib.sha256(chunk).digest()).decode()

    response = await patch(http, creator, path, 0, corrupted, **{"Upload-Checksum": checksum})
    assert_problem(response, 460, "checksum_mismatch")
    assert response.headers["tus-resumable"] == "1.0.0"
    assert await head_offset(http, creator, path) == 0
    assert stored_file(storage, creator, upload_id(path)).read_bytes() == b""

    response = await patch(http, creator, path, 0, chunk, **{"Upload-Checksum": checksum})
    assert response.status_code == 204, response.text
    assert response.headers["upload-offset"] == "100000"


async def test_a_file_whose_sha256_differs_from_the_declared_one_fails(
    http: httpx.AsyncClient, tus_url: str, make_user: MakeUser, sql: asyncpg.Connection, storage: LocalUploadStorage
) -> None:
    creator = make_user("creator")
    data = video_bytes(600_000, seed=6)
    declared = metadata(video_bytes(600_000, seed=7))
    tus = uploader(tus_url, creator, data, chunk_size=256 * 1024, metadata=declared)
    with pytest.raises(TusUploadFailed) as failure:
        await in_thread(tus.upload)
    assert failure.value.status_code == 422

    path = path_of(tus)
    upload = upload_id(path)
    body = await status(http, creator, path)
    assert (body["state"], body["failure_reason"], body["retryable"]) == ("failed", "checksum_mismatch", False)
    assert not stored_file(storage, creator, upload).exists()
    assert await history(sql, upload) == [
        (None, "created"),
        ("created", "uploading"),
        ("uploading", "failed"),
    ]
    assert await notifications(sql, upload) == [
        ("upload_failed", str(creator.user_id), "in_app"),
        ("upload_failed", str(creator.user_id), "push"),
    ]
    gone = await http.get(path, headers=creator.headers)
    assert gone.status_code == 200
    assert_problem(await patch(http, creator, path, 600_000, b""), 410, "upload_failed")


@pytest.mark.parametrize("version", ["0.2.2", None])
async def test_another_protocol_version_is_412(
    http: httpx.AsyncClient, make_user: MakeUser, version: str | None
) -> None:
    creator = make_user("creator")
    headers = {**creator.headers, "Upload-Length": "10"}
    if version:
        headers["Tus-Resumable"] = version
    response = await http.post("/v1/uploads", headers=headers)
    assert_problem(response, 412, "tus_version_unsupported")
    as_documented(response)
    assert response.headers["tus-version"] == "1.0.0"
    assert response.headers["tus-resumable"] == "1.0.0"


async def test_errors_of_tus_routes_carry_tus_resumable(http: httpx.AsyncClient, make_user: MakeUser) -> None:
    unauthenticated = await http.post("/v1/uploads", headers={**TUS, "Upload-Length": "10"})
    assert_problem(unauthenticated, 401, "unauthorized")
    assert unauthenticated.headers["tus-resumable"] == "1.0.0"
    supporter = await http.post("/v1/uploads", headers=tus_headers(make_user("supporter"), **{"Upload-Length": "10"}))
    assert_problem(supporter, 403, "forbidden")
    assert supporter.headers["tus-resumable"] == "1.0.0"


async def test_every_tus_answer_carries_the_headers_its_document_promises(
    http: httpx.AsyncClient, make_user: MakeUser
) -> None:
    creator = make_user("creator")
    data = video_bytes(2000, seed=5)
    as_documented(await http.options("/v1/uploads"))
    created = await http.post(
        "/v1/uploads",
        headers=tus_headers(
            creator, **{"Upload-Length": str(len(data)), "Upload-Metadata": metadata_header(metadata(data))}
        ),
    )
    as_documented(created)
    path = created.headers["location"]
    as_documented(await http.head(path, headers=tus_headers(creator)))
    as_documented(await patch(http, creator, path, 0, data[:500]))
    as_documented(await patch(http, creator, path, 7, data[:500]))  # 409: the offset is 500
    as_documented(await patch(http, creator, path, 500, data[500:600], **{"Upload-Checksum": "md5 AAAA"}))  # 400
    as_documented(await http.delete(path, headers=tus_headers(creator)))
    as_documented(await http.head(path, headers=tus_headers(creator)))  # 410 once terminated
    # the deduplicated creation is checked in test_dedupe
