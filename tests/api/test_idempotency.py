"""Idempotency-Key semantics of api.md, on a real creating route (POST /v1/projects)."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.api.flows import assert_problem
from tests.api.projects.flows import project_body
from tests.conftest import MakeUser


async def test_same_key_same_request_replays_the_stored_response(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    creator = make_user("creator")
    headers = creator.posting("key-1")
    first = await client.post("/v1/projects", json=project_body(), headers=headers)
    second = await client.post("/v1/projects", json=project_body(), headers=headers)

    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await sql.fetchval("select count(*) from projects") == 1


async def test_keys_are_per_user(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    for creator in (make_user("creator"), make_user("creator")):
        response = await client.post("/v1/projects", json=project_body(), headers=creator.posting("shared-key"))
        assert response.status_code == 201
        assert "idempotent-replayed" not in response.headers
    assert await sql.fetchval("select count(*) from projects") == 2


async def test_same_key_different_body_is_422(client: AsyncTestClient[Litestar], make_user: MakeUser) -> None:
    creator = make_user("creator")
    await client.post("/v1/projects", json=project_body(), headers=creator.posting("key-2"))
    response = await client.post("/v1/projects", json=project_body(title="Other"), headers=creator.posting("key-2"))
    assert_problem(response, 422, "idempotency_key_reused")


async def test_missing_or_oversized_key_is_400(client: AsyncTestClient[Litestar], make_user: MakeUser) -> None:
    creator = make_user("creator")
    assert_problem(
        await client.post("/v1/projects", json=project_body(), headers=creator.headers), 400, "idempotency_key_required"
    )
    too_long = creator.posting("k" * 256)
    assert_problem(
        await client.post("/v1/projects", json=project_body(), headers=too_long), 400, "idempotency_key_required"
    )


async def test_key_in_flight_is_409_and_a_request_cut_off_leaves_it_free(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection, database_url: str
) -> None:
    creator = make_user("creator")
    holder = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        # A request with key-3 is running: its transaction holds the key.
        transaction = holder.transaction()
        await transaction.start()
        await holder.execute(
            "select pg_advisory_xact_lock(hashtextextended($1, 0))", f"idempotency:{creator.user_id}:key-3"
        )
        busy = await client.post("/v1/projects", json=project_body(), headers=creator.posting("key-3"))
        assert_problem(busy, 409, "idempotency_key_in_use")
        assert busy.headers["Retry-After"] == "1"  # api.md: the client retries in a second
        assert await sql.fetchval("select count(*) from projects") == 0

        # Its connection is cut (a crashed API process, a database restart): the retry runs at once.
        await sql.execute("select pg_terminate_backend($1)", holder.get_server_pid())
    finally:
        holder.terminate()
    retried = await client.post("/v1/projects", json=project_body(), headers=creator.posting("key-3"))
    assert retried.status_code == 201
    assert "idempotent-replayed" not in retried.headers
    again = await client.post("/v1/projects", json=project_body(), headers=creator.posting("key-3"))
    assert again.json() == retried.json()
    assert again.headers["idempotent-replayed"] == "true"


async def test_keys_expire_after_24_hours(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    creator = make_user("creator")
    first = await client.post("/v1/projects", json=project_body(), headers=creator.posting("key-4"))
    await sql.execute("update idempotency_keys set created_at = now() - interval '25 hours' where key = 'key-4'")
    again = await client.post(
        "/v1/projects", json=project_body(title="Different now"), headers=creator.posting("key-4")
    )
    assert again.status_code == 201
    assert again.json()["project_id"] != first.json()["project_id"]


async def test_a_failed_attempt_releases_the_key(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    creator = make_user("creator")
    tier = {"tier_id": str(uuid.uuid4()), "title": "A", "amount_minor": 100, "reward_type": "physical"}
    await client.post("/v1/projects", json=project_body(reward_tiers=[tier]), headers=creator.posting())
    conflict = await client.post(
        "/v1/projects", json=project_body(reward_tiers=[tier]), headers=creator.posting("key-5")
    )
    assert conflict.status_code == 409
    assert await sql.fetchval("select count(*) from idempotency_keys where key = 'key-5'") == 0


async def test_fifty_concurrent_identical_requests_create_exactly_one_project(
    client: AsyncTestClient[Litestar], live_url: str, make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    creator = make_user("creator")
    headers = creator.posting("burst")
    limits = httpx.Limits(max_connections=50)
    async with httpx.AsyncClient(base_url=live_url, limits=limits, timeout=30) as http:
        responses = await asyncio.gather(
            *(http.post("/v1/projects", json=project_body(), headers=headers) for _ in range(50))
        )
    statuses = [r.status_code for r in responses]
    assert all(s < 500 for s in statuses), statuses
    assert set(statuses) <= {201, 409}
    assert 409 in statuses, "the requests did not overlap; the test proves nothing"
    created = {r.json()["project_id"] for r in responses if r.status_code == 201}
    assert len(created) == 1
    assert sum(1 for r in responses if r.status_code == 201 and "idempotent-replayed" not in r.headers) == 1
    assert await sql.fetchval("select count(*) from projects") == 1
