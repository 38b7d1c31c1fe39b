"""Every class of bad tus input gets its status and problem+json code, and leaves no rows or bytes behind."""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from api.uploads.storage import LocalUploadStorage
from api.uploads.tus import MAX_UPLOAD_BYTES
from tests.api.flows import assert_problem
from tests.api.projects.flows import create_project
from tests.api.uploads.flows import (
    create,
    files_of,
    head_offset,
    history,
    metadata,
    metadata_header,
    patch,
    stored_file,
    tus_headers,
    upload_id,
    video_bytes,
)
from tests.conftest import MakeUser

DATA = video_bytes(1000, seed=20)
GOOD = metadata(DATA)


def encoded(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


CREATION_CASES = {
    "length missing": ({"Upload-Metadata": metadata_header(GOOD)}, 400, "upload_length_invalid"),
    "length negative": (
        {"Upload-Length": "-1", "Upload-Metadata": metadata_header(GOOD)},
        400,
        "upload_length_invalid",
    ),
    "length zero": ({"Upload-Length": "0", "Upload-Metadata": metadata_header(GOOD)}, 400, "upload_length_invalid"),
    "length not a number": (
        {"Upload-Length": "1e3", "Upload-Metadata": metadata_header(GOOD)},
        400,
        "upload_length_invalid",
    ),
    "length huge": (
        {"Upload-Length": str(MAX_UPLOAD_BYTES + 1), "Upload-Metadata": metadata_header(GOOD)},
        413,
        "upload_too_large",
    ),
    "length absurd": (
        {"Upload-Length": "9" * 40, "Upload-Metadata": metadata_header(GOOD)},
        400,
        "upload_length_invalid",
    ),
    "metadata missing": ({"Upload-Length": "1000"}, 400, "metadata_invalid"),
    "metadata not base64": ({"Upload-Length": "1000", "Upload-Metadata": "filename !!!"}, 400, "metadata_invalid"),
    "metadata duplicate key": (
        {"Upload-Length": "1000", "Upload-Metadata": metadata_header(GOOD) + ",filename " + encoded("b.mp4")},
        400,
        "metadata_invalid",
    ),
    "metadata key with a space": ({"Upload-Length": "1000", "Upload-Metadata": "a b c"}, 400, "metadata_invalid"),
    "sha256 missing": (
        {"Upload-Length": "1000", "Upload-Metadata": metadata_header(metadata(DATA, sha256=None))},
        400,
        "metadata_invalid",
    ),
    "sha256 not hex": (
        {"Upload-Length": "1000", "Upload-Metadata": metadata_header(metadata(DATA, sha256="z" * 64))},
        400,
        "metadata_invalid",
    ),
    "not a video": (
        {"Upload-Length": "1000", "Upload-Metadata": metadata_header(metadata(DATA, content_type="text/html"))},
        400,
        "metadata_invalid",
    ),
    "project_id not a uuid": (
        {"Upload-Length": "1000", "Upload-Metadata": metadata_header(metadata(DATA, project_id="42"))},
        400,
        "metadata_invalid",
    ),
    "unknown project": (
        {"Upload-Length": "1000", "Upload-Metadata": metadata_header(metadata(DATA, project_id=str(uuid.uuid4())))},
        404,
        "project_not_found",
    ),
}


@pytest.mark.parametrize("case", sorted(CREATION_CASES))
async def test_bad_creation(
    case: str, http: httpx.AsyncClient, make_user: MakeUser, sql: asyncpg.Connection, storage: LocalUploadStorage
) -> None:
    headers, status, code = CREATION_CASES[case]
    creator = make_user("creator")
    response = await http.post("/v1/uploads", headers=tus_headers(creator, **headers))
    assert_problem(response, status, code)
    assert response.headers["tus-resumable"] == "1.0.0"
    assert await sql.fetchval("select count(*) from uploads where creator_id = $1", creator.user_id) == 0
    assert files_of(storage, creator) == []


async def test_metadata_errors_name_the_fields(http: httpx.AsyncClient, make_user: MakeUser) -> None:
    values = {"filename": "", "content_type": "video/mp4", "project_id": "nope"}
    response = await http.post(
        "/v1/uploads",
        headers=tus_headers(
            make_user("creator"), **{"Upload-Length": "10", "Upload-Metadata": metadata_header(values)}
        ),
    )
    body = assert_problem(response, 400, "metadata_invalid")
    assert {e["path"] for e in body["errors"]} == {"$.filename", "$.sha256", "$.project_id"}  # type: ignore[attr-defined]


async def test_another_creators_project_is_404(
    http: httpx.AsyncClient, client: object, make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    owner = make_user("creator")
    project = await create_project(client, owner)  # type: ignore[arg-type]
    intruder = make_user("creator")
    headers = {
        "Upload-Length": "1000",
        "Upload-Metadata": metadata_header(metadata(DATA, project_id=project["project_id"])),
    }
    assert_problem(await http.post("/v1/uploads", headers=tus_headers(intruder, **headers)), 404, "project_not_found")
    response = await http.post("/v1/uploads", headers=tus_headers(owner, **headers))
    assert response.status_code == 201, response.text
    assert response.json()["project_id"] == project["project_id"]


async def chunked(data: bytes) -> AsyncIterator[bytes]:
    """No Content-Length: the server finds out the length while streaming."""
    for start in range(0, len(data), 300):
        yield data[start : start + 300]


def checksum(data: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm} {base64.b64encode(hashlib.new(algorithm, data).digest()).decode()}"


# (Upload-Offset, body (None: a chunked body longer than the upload), headers, status, code)
PATCH_CASES: dict[str, tuple[int | str | None, bytes | None, dict[str, str], int, str]] = {
    "wrong content type": (0, DATA[:100], {"Content-Type": "application/octet-stream"}, 415, "unsupported_media_type"),
    "offset missing": (None, DATA[:100], {}, 400, "upload_offset_invalid"),
    "offset negative": ("-1", DATA[:100], {}, 400, "upload_offset_invalid"),
    "offset beyond length": (2000, DATA[:100], {}, 409, "upload_offset_mismatch"),  # tus: any wrong offset
    "offset mismatch": (10, DATA[:100], {}, 409, "upload_offset_mismatch"),
    "body longer than the upload": (0, DATA + b"x" * 500, {}, 413, "upload_length_exceeded"),
    "chunked body longer than the upload": (0, None, {}, 413, "upload_length_exceeded"),
    "checksum mismatch": (0, DATA[:100], {"Upload-Checksum": checksum(DATA[:99])}, 460, "checksum_mismatch"),
    "checksum algorithm unsupported": (
        0,
        DATA[:100],
        {"Upload-Checksum": checksum(DATA[:100], "sha1")},
        400,
        "checksum_algorithm_unsupported",
    ),
    "checksum malformed": (0, DATA[:100], {"Upload-Checksum": "sha256 %%%"}, 400, "checksum_invalid"),
}


@pytest.mark.parametrize("case", sorted(PATCH_CASES))
async def test_bad_patch(
    case: str, http: httpx.AsyncClient, make_user: MakeUser, sql: asyncpg.Connection, storage: LocalUploadStorage
) -> None:
    offset, body, headers, status, code = PATCH_CASES[case]
    creator = make_user("creator")
    path = await create(http, creator, DATA)
    content = chunked(DATA + b"x" * 500) if body is None else body
    request_headers = tus_headers(creator, **{"Content-Type": "application/offset+octet-stream", **headers})
    if offset is not None:
        request_headers["Upload-Offset"] = str(offset)
    response = await http.patch(path, headers=request_headers, content=content)
    assert_problem(response, status, code)
    assert response.headers["tus-resumable"] == "1.0.0"
    upload = upload_id(path)
    assert await head_offset(http, creator, path) == 0
    assert await history(sql, upload) == [(None, "created")]
    stored = stored_file(storage, creator, upload)
    assert not stored.exists() or stored.read_bytes() == b""


@pytest.mark.parametrize("method", ["HEAD", "PATCH", "DELETE", "GET"])
async def test_unknown_and_other_creators_uploads_are_404(
    method: str, http: httpx.AsyncClient, make_user: MakeUser, storage: LocalUploadStorage
) -> None:
    owner, other = make_user("creator"), make_user("creator")
    path = await create(http, owner, DATA)
    for user, target in ((owner, f"/v1/uploads/{uuid.uuid4()}"), (other, path)):
        headers = tus_headers(user, **{"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
        response = await http.request(method, target, headers=headers, content=DATA[:10] if method == "PATCH" else None)
        if method == "HEAD":
            assert response.status_code == 404
        else:
            assert_problem(response, 404, "not_found")
    assert await head_offset(http, owner, path) == 0
    assert files_of(storage, other) == []


async def test_bytes_deleted_behind_our_back_fail_the_upload_instead_of_resuming_over_a_hole(
    http: httpx.AsyncClient, make_user: MakeUser, sql: asyncpg.Connection, storage: LocalUploadStorage
) -> None:
    creator = make_user("creator")
    path = await create(http, creator, DATA)
    assert (await patch(http, creator, path, 0, DATA[:100])).status_code == 204
    stored_file(storage, creator, upload_id(path)).unlink()  # a lost volume, a careless cleanup

    assert_problem(await patch(http, creator, path, 100, DATA[100:]), 410, "upload_failed")
    failed = await sql.fetchrow("select state, failure_reason from uploads where upload_id = $1", upload_id(path))
    assert (failed["state"], failed["failure_reason"]) == ("failed", "storage_missing")
    assert files_of(storage, creator) == []
