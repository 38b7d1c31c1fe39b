"""Two PATCHes at the same offset: exactly one wins, the other is 409, and bytes never interleave."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx

from api.uploads.storage import LocalUploadStorage
from tests.api.flows import assert_problem
from tests.api.uploads.flows import MiB, create, head_offset, patch, stored_file, upload_id, video_bytes
from tests.conftest import MakeUser


async def trickle(data: bytes, piece: int = 64 * 1024, pause: float = 0.002) -> AsyncIterator[bytes]:
    """A body that stays in flight for a while, so two PATCHes overlap on the server."""
    for start in range(0, len(data), piece):
        yield data[start : start + piece]
        await asyncio.sleep(pause)


async def test_concurrent_patches_at_the_same_offset(
    live_url: str, http: httpx.AsyncClient, make_user: MakeUser, storage: LocalUploadStorage
) -> None:
    creator = make_user("creator")
    path = await create(http, creator, video_bytes(4 * MiB))
    bodies = [video_bytes(MiB, seed=10), video_bytes(MiB, seed=11)]
    async with (
        httpx.AsyncClient(base_url=live_url, timeout=60) as a,
        httpx.AsyncClient(base_url=live_url, timeout=60) as b,
    ):
        responses = await asyncio.gather(
            patch(a, creator, path, 0, trickle(bodies[0])), patch(b, creator, path, 0, trickle(bodies[1]))
        )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [204, 409], [r.text for r in responses]
    winner = bodies[[r.status_code for r in responses].index(204)]
    loser = next(r for r in responses if r.status_code == 409)
    assert loser.json()["code"] in {"upload_locked", "upload_offset_mismatch"}
    assert await head_offset(http, creator, path) == MiB
    assert stored_file(storage, creator, upload_id(path)).read_bytes() == winner


async def test_a_patch_while_another_is_writing_is_409_upload_locked(
    live_url: str, http: httpx.AsyncClient, make_user: MakeUser, storage: LocalUploadStorage
) -> None:
    creator = make_user("creator")
    path = await create(http, creator, video_bytes(2 * MiB))
    first, second = video_bytes(MiB, seed=12), video_bytes(MiB, seed=13)
    release = asyncio.Event()

    async def held_open() -> AsyncIterator[bytes]:
        yield first[: 64 * 1024]
        await release.wait()
        yield first[64 * 1024 :]

    async with httpx.AsyncClient(base_url=live_url, timeout=60) as other:
        writing = asyncio.create_task(patch(other, creator, path, 0, held_open()))
        target = stored_file(storage, creator, upload_id(path))
        for _ in range(200):  # the first PATCH holds the row once its file is open
            if target.exists():
                break
            await asyncio.sleep(0.01)
        assert_problem(await patch(http, creator, path, 0, second), 409, "upload_locked")
        release.set()
        assert (await writing).status_code == 204

    assert target.read_bytes() == first
    conflict = await patch(http, creator, path, 0, second)
    assert_problem(conflict, 409, "upload_offset_mismatch")
    assert conflict.headers["upload-offset"] == str(MiB)
