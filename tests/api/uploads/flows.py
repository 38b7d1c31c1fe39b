"""Helpers for upload tests: metadata, tus requests over httpx, tuspy uploaders, what the database holds."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import random
import struct
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
from tusclient.client import TusClient
from tusclient.uploader.uploader import Uploader

from api.cli import OPENAPI_SNAPSHOT
from api.uploads.storage import LocalUploadStorage
from tests.conftest import User

TUS = {"Tus-Resumable": "1.0.0"}
MiB = 1024 * 1024


class Sha256Uploader(Uploader):
    """tuspy with the server's checksum algorithm (tuspy defaults to sha1)."""

    CHECKSUM_ALGORITHM_PAIR = ("sha256", hashlib.sha256)


def video_bytes(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


def mp4_bytes(duration_seconds: float, payload: int = 256 * 1024, *, timescale: int = 1000, seed: int = 1) -> bytes:
    """A minimal ISO BMFF file: ftyp, moov/mvhd (version 0), and an mdat of random bytes."""
    ftyp_body = b"isom" + struct.pack(">I", 512) + b"isomiso2mp41"
    ftyp = struct.pack(">I4s", 8 + len(ftyp_body), b"ftyp") + ftyp_body
    mvhd_body = bytes(4) + struct.pack(">IIII", 0, 0, timescale, int(duration_seconds * timescale)) + bytes(80)
    mvhd = struct.pack(">I4s", 8 + len(mvhd_body), b"mvhd") + mvhd_body
    moov = struct.pack(">I4s", 8 + len(mvhd), b"moov") + mvhd
    mdat_body = video_bytes(payload, seed)
    mdat = struct.pack(">I4s", 8 + len(mdat_body), b"mdat") + mdat_body
    return ftyp + mdat + moov  # moov last, as cameras write it


def metadata(data: bytes, **changes: str | None) -> dict[str, str]:
    values: dict[str, str | None] = {
        "filename": "pitch.mp4",
        "content_type": "video/mp4",
        "sha256": hashlib.sha256(data).hexdigest(),
        **changes,
    }
    return {k: v for k, v in values.items() if v is not None}


def metadata_header(values: dict[str, str]) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def tus_headers(user: User, **extra: str) -> dict[str, str]:
    return {**user.headers, **TUS, **extra}


async def create(http: httpx.AsyncClient, user: User, data: bytes, **changes: str | None) -> str:
    """tus creation of an upload for `data`; returns its path."""
    response = await http.post(
        "/v1/uploads",
        headers=tus_headers(
            user, **{"Upload-Length": str(len(data)), "Upload-Metadata": metadata_header(metadata(data, **changes))}
        ),
    )
    assert response.status_code == 201, response.text
    return str(response.headers["location"])


async def patch(http: httpx.AsyncClient, user: User, path: str, offset: int, body: Any, **extra: str) -> httpx.Response:
    headers = tus_headers(
        user, **{"Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream", **extra}
    )
    return await http.patch(path, headers=headers, content=body)


async def head_offset(http: httpx.AsyncClient, user: User, path: str) -> int:
    response = await http.head(path, headers=tus_headers(user))
    assert response.status_code == 200, response.status_code
    return int(response.headers["upload-offset"])


async def status(http: httpx.AsyncClient, user: User, path: str) -> dict[str, Any]:
    response = await http.get(path, headers=user.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def uploader(
    tus_url: str, user: User, data: bytes, *, chunk_size: int, cls: type[Uploader] = Uploader, **kwargs: Any
) -> Uploader:
    client = TusClient(tus_url, headers=user.headers)
    kwargs.setdefault("metadata", metadata(data))
    return cls(file_stream=io.BytesIO(data), client=client, chunk_size=chunk_size, **kwargs)


def path_of(tus: Uploader) -> str:
    """The upload's path once tuspy has created it (tuspy types `url` as None)."""
    url = str(tus.url)
    assert url.startswith("http"), url
    return urlsplit(url).path


async def in_thread(function: Any, *args: Any) -> Any:
    """tuspy is synchronous (requests): run it off the test's event loop."""
    return await asyncio.to_thread(function, *args)


def upload_id(path_or_url: str) -> uuid.UUID:
    return uuid.UUID(path_or_url.rstrip("/").rsplit("/", 1)[-1])


def stored_file(storage: LocalUploadStorage, user: User, upload: uuid.UUID) -> Path:
    return storage.path(f"{user.user_id}/{upload}")


def files_of(storage: LocalUploadStorage, user: User) -> list[Path]:
    directory = storage.root / str(user.user_id)
    return sorted(directory.iterdir()) if directory.exists() else []


async def history(sql: asyncpg.Connection, upload: uuid.UUID) -> list[tuple[str | None, str]]:
    rows = await sql.fetch(
        "select from_state, to_state from upload_state_history where upload_id = $1 order by history_id", upload
    )
    return [(r["from_state"], r["to_state"]) for r in rows]


async def row(sql: asyncpg.Connection, upload: uuid.UUID) -> asyncpg.Record:
    record = await sql.fetchrow("select * from uploads where upload_id = $1", upload)
    assert record is not None
    return record


async def notifications(sql: asyncpg.Connection, upload: uuid.UUID) -> list[tuple[str, str, str]]:
    """(event_type, recipient, channel) of the notifications about `upload`."""
    rows = await sql.fetch(
        "select e.event_type, d.recipient_id::text as recipient, d.channel from notification_events e "
        "join notification_deliveries d using (notification_event_id) where e.payload->>'upload_id' = $1 "
        "order by e.created_at, d.channel",
        str(upload),
    )
    return [(r["event_type"], r["recipient"], r["channel"]) for r in rows]


def _documented_headers(method: str, status: int) -> dict[str, dict[str, Any]]:
    """The headers api/openapi.json promises on this tus answer, by lower-case name."""
    document = json.loads(OPENAPI_SNAPSHOT.read_text())
    path = "/v1/uploads" if method in {"OPTIONS", "POST"} else "/v1/uploads/{upload_id}"
    response = document["paths"][path][method.lower()]["responses"][str(status)]
    return {name.lower(): header for name, header in response.get("headers", {}).items()}


def as_documented(response: httpx.Response) -> None:
    """Every header the document promises as required is sent, every protocol header sent is documented,
    and each value fits its schema (an integer for byte counts, the one allowed value for an enum)."""
    documented = _documented_headers(response.request.method, response.status_code)
    sent = {name.lower() for name in response.headers}
    required = {name for name, header in documented.items() if header.get("required")}
    assert required <= sent, (response.request.method, response.status_code, required - sent)
    protocol = {name for name in sent if name.startswith(("tus-", "upload-")) or name == "location"}
    assert protocol <= documented.keys(), (response.request.method, response.status_code, protocol - documented.keys())
    for name in protocol:
        schema, value = documented[name]["schema"], response.headers[name]
        if schema["type"] == "integer":
            assert value.isdigit()
            assert schema.get("minimum", 0) <= int(value) <= schema.get("maximum", int(value))
        if "enum" in schema:
            assert value in schema["enum"], (name, value)
