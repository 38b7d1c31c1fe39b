"""The upload storage contract, on local disk and on S3-compatible object storage (moto's server on loopback)."""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
from datetime import UTC, datetime
from pathlib import Path

import fsspec
import httpx
import pytest

from api.app import create_app
from api.db.engine import Database
from api.settings import Settings
from api.uploads import storage as storage_module
from api.uploads.digests import file_sha256
from api.uploads.jobs import process_uploads
from api.uploads.storage import (
    LocalUploadStorage,
    ObjectUploadStorage,
    StorageCorrupt,
    UploadStorage,
    storage_from,
)
from tests.api.uploads.flows import in_thread, mp4_bytes, path_of, status, upload_id, uploader
from tests.conftest import MakeUser, serve_in_thread


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> UploadStorage:
    if request.param == "local":
        return LocalUploadStorage(tmp_path / "uploads")
    bucket = request.getfixturevalue("bucket")
    return ObjectUploadStorage(f"s3://{bucket}/uploads")


async def append(storage: UploadStorage, key: str, offset: int, data: bytes, *, sync: bool = True) -> None:
    handle = await storage.open_append(key, offset)
    try:
        for start in range(0, len(data), 1 << 20):
            await handle.write(data[start : start + (1 << 20)])
        if sync:
            await handle.sync()
    finally:
        await handle.close()


async def stored(storage: UploadStorage, key: str, start: int = 0) -> bytes:
    return b"".join([chunk async for chunk in storage.stream(key, start)])


async def test_patches_add_up_to_the_file(storage: UploadStorage) -> None:
    parts = [os.urandom(size) for size in (1000, 3 << 20, 17)]
    offset = 0
    for part in parts:
        await append(storage, "creator/u1", offset, part)
        offset += len(part)
    whole = b"".join(parts)
    assert await storage.size("creator/u1") == len(whole)
    assert await stored(storage, "creator/u1") == whole
    assert await stored(storage, "creator/u1", 999) == whole[999:]
    assert await storage.read_range("creator/u1", 990, 20) == whole[990:1010]  # across a PATCH boundary
    assert await storage.read_range("creator/u1", len(whole) - 5, 100) == whole[-5:]
    assert await file_sha256(storage, "creator/u1") == hashlib.sha256(whole).hexdigest()


async def test_bytes_past_the_committed_offset_are_dropped_on_reopen(storage: UploadStorage) -> None:
    """A PATCH was made durable, but the offset vouching for it never committed: the retry starts over."""
    first, lost, retried = os.urandom(500), os.urandom(700), os.urandom(300)
    await append(storage, "u2", 0, first)
    await append(storage, "u2", 500, lost)  # synced, then (say) the database commit failed
    await append(storage, "u2", 500, retried)
    assert await stored(storage, "u2") == first + retried


async def test_a_discarded_or_unsynced_patch_leaves_nothing(storage: UploadStorage) -> None:
    await append(storage, "u3", 0, b"kept")
    handle = await storage.open_append("u3", 4)
    await handle.write(b"checksum mismatch")
    await handle.truncate(4)
    await handle.close()
    await append(storage, "u3", 4, b"never synced", sync=False)
    await storage.open_append("u3", 4)  # what the next PATCH does first
    assert await stored(storage, "u3") == b"kept"


async def test_a_large_patch_streams_in_parts(storage: UploadStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storage_module, "PART_BYTES", 5 << 20)  # S3's smallest multipart part
    data = os.urandom(12 << 20)
    await append(storage, "u4", 0, data)
    assert await storage.size("u4") == len(data)
    assert hashlib.sha256(await stored(storage, "u4")).digest() == hashlib.sha256(data).digest()


async def test_delete_removes_everything(storage: UploadStorage) -> None:
    await append(storage, "u5", 0, b"abc")
    await append(storage, "u5", 3, b"def")
    await storage.delete("u5")
    await storage.delete("u5")  # idempotent
    assert await storage.size("u5") is None


async def test_keys_stay_inside_the_root(storage: UploadStorage) -> None:
    with pytest.raises(ValueError, match="leaves the storage root"):
        await storage.open_append("../elsewhere", 0)


async def test_missing_bytes_below_the_offset_are_refused(storage: UploadStorage) -> None:
    await append(storage, "u6", 0, b"0123456789")
    await storage.delete("u6")  # as a bucket lifecycle rule or a careless operator would
    with pytest.raises(StorageCorrupt, match="0 bytes stored, offset 10 committed"):
        await storage.open_append("u6", 10)


async def test_a_tus_upload_into_object_storage_is_resumed_processed_and_read(
    bucket: str, settings: Settings, database_url: str, client: object, db: Database, make_user: MakeUser
) -> None:
    """The whole path with PATRONAGE_UPLOAD_STORAGE=s3://…: TUS client, a dropped connection and a
    resume, the worker's processing (size, sha256, media facts), and the bytes read back."""
    on_s3 = dataclasses.replace(
        settings, paths=dataclasses.replace(settings.paths, upload_storage=f"s3://{bucket}/uploads")
    )
    creator = make_user("creator")
    data = mp4_bytes(8.0, payload=3 << 20)
    with serve_in_thread(create_app(on_s3, database_url=database_url)) as url:
        tus = uploader(f"{url}/v1/uploads", creator, data, chunk_size=1 << 20)
        await in_thread(tus.upload_chunk)  # one chunk, then the client goes away
        resumed = uploader(f"{url}/v1/uploads", creator, data, chunk_size=1 << 20, url=tus.url)
        await in_thread(resumed.upload)
        async with httpx.AsyncClient(base_url=url) as http:
            path = path_of(resumed)
            assert (await status(http, creator, path))["state"] == "processing"
            storage = storage_from(on_s3)
            assert await process_uploads(db, storage, datetime.now(UTC)) == 1
            body = await status(http, creator, path)
    assert (body["state"], body["media"]["duration_seconds"]) == ("ready", 8.0)
    key = f"{creator.user_id}/{upload_id(path)}"
    assert await stored(storage, key) == data
    objects = fsspec.filesystem("s3", skip_instance_cache=True).find(f"{bucket}/uploads/{key}")
    assert len(objects) == math.ceil(len(data) / (1 << 20))  # one object per acknowledged PATCH
