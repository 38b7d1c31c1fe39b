"""Projects and the feed: create, read, paginate, updates, playback caps."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from litestar import Litestar
from litestar.testing import AsyncTestClient

# Re-exported: tests/pipelines/test_playback.py takes it from here until it moves (tests/test_layout.py PENDING).
from tests.api.projects.flows import create_project, project_body
from tests.conftest import MakeUser


async def test_creator_creates_a_live_project_with_ordered_tiers(
    client: AsyncTestClient[Litestar], make_user: MakeUser
) -> None:
    creator = make_user("creator")
    tier_id = str(uuid.uuid4())
    tiers = [
        {"tier_id": tier_id, "title": "One mug", "amount_minor": 2_500, "reward_type": "physical"},
        {"title": "Two mugs", "amount_minor": 4_500, "reward_type": "physical"},
    ]
    project = await create_project(client, creator, reward_tiers=tiers)

    assert project["status"] == "live"
    assert project["creator_id"] == str(creator.user_id)
    assert [t["title"] for t in project["reward_tiers"]] == ["One mug", "Two mugs"]
    assert project["reward_tiers"][0]["tier_id"] == tier_id
    assert project["playback"] == {"max_rendition": "1080p"}

    read = await client.get(f"/v1/projects/{project['project_id']}", headers=make_user().headers)
    assert read.status_code == 200
    assert read.json() == project


async def test_supporter_cannot_create_projects(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    response = await client.post("/v1/projects", json=project_body(), headers=make_user("supporter").posting())
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert await sql.fetchval("select count(*) from projects") == 0


async def test_unknown_project_is_404_with_code(client: AsyncTestClient[Litestar], make_user: MakeUser) -> None:
    response = await client.get(f"/v1/projects/{uuid.uuid4()}", headers=make_user().headers)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "project_not_found"


async def test_duplicate_tier_ids_are_rejected_without_writing(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    tier_id = str(uuid.uuid4())
    tier = {"tier_id": tier_id, "title": "A", "amount_minor": 100, "reward_type": "physical"}
    response = await client.post(
        "/v1/projects", json=project_body(reward_tiers=[tier, tier]), headers=make_user("creator").posting()
    )
    assert response.status_code == 422
    assert response.json()["code"] == "validation_failed"

    await create_project(client, make_user("creator"), reward_tiers=[tier])
    clash = await client.post(
        "/v1/projects", json=project_body(reward_tiers=[tier]), headers=make_user("creator").posting()
    )
    assert clash.status_code == 409
    assert clash.json()["code"] == "tier_id_conflict"
    assert await sql.fetchval("select count(*) from projects") == 1


async def test_feed_pages_newest_first_without_gaps_or_repeats(
    client: AsyncTestClient[Litestar], make_user: MakeUser
) -> None:
    creator = make_user("creator")
    created = [(await create_project(client, creator, title=f"Project {i}"))["project_id"] for i in range(7)]
    reader = make_user()

    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = await client.get("/v1/feed", params=params, headers=reader.headers)
        assert page.status_code == 200
        body = page.json()
        assert len(body["items"]) <= 3
        seen += [item["project_id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(created))


async def test_feed_shows_the_pipelines_playback_cap(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    capped = await create_project(client, make_user("creator"))
    plain = await create_project(client, make_user("creator"))
    await sql.execute(
        "insert into playback_caps (project_id, max_rendition, level, since) values ($1, '540p', 'cap_540p', now())",
        uuid.UUID(capped["project_id"]),
    )
    items = (await client.get("/v1/feed", headers=make_user().headers)).json()["items"]
    caps = {item["project_id"]: item["playback"]["max_rendition"] for item in items}
    assert caps == {capped["project_id"]: "540p", plain["project_id"]: "1080p"}


async def test_feed_rejects_bad_cursor_and_limit(client: AsyncTestClient[Litestar], make_user: MakeUser) -> None:
    headers = make_user().headers
    for params in ({"cursor": "not-a-cursor"}, {"limit": 0}, {"limit": 201}, {"limit": "ten"}):
        response = await client.get("/v1/feed", params=params, headers=headers)
        assert response.status_code == 422, params
        assert response.json()["code"] == "validation_failed"


async def test_only_the_projects_creator_posts_updates(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    creator = make_user("creator")
    project = await create_project(client, creator)
    url = f"/v1/projects/{project['project_id']}/updates"
    update = {"title": "Kiln fired", "body": "First batch is out of the kiln."}

    ok = await client.post(url, json=update, headers=creator.posting())
    assert ok.status_code == 201
    assert ok.json()["title"] == "Kiln fired"

    other = await client.post(url, json=update, headers=make_user("creator").posting())
    assert other.status_code == 404
    assert other.json()["code"] == "project_not_found"
    supporter = await client.post(url, json=update, headers=make_user("supporter").posting())
    assert supporter.status_code == 403
    assert await sql.fetchval("select count(*) from project_updates") == 1
