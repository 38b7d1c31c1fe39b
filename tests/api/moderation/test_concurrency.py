"""Racing reports against the real server: one report per reporter and day, one open review, one ops notification."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.api.moderation.flows import new_project, open_reviews, review_notifications, seed_report
from tests.conftest import MakeUser, User


async def race(live_url: str, project_id: str, reporters: list[User], reason: str = "spam") -> list[httpx.Response]:
    """Every reporter files at once, each with their own Idempotency-Key."""
    url = f"/v1/projects/{project_id}/reports"
    limits = httpx.Limits(max_connections=len(reporters))
    async with httpx.AsyncClient(base_url=live_url, limits=limits, timeout=30) as http:
        return await asyncio.gather(*(http.post(url, json={"reason": reason}, headers=r.posting()) for r in reporters))


async def test_ten_concurrent_reports_by_one_reporter_store_exactly_one(
    client: AsyncTestClient[Litestar], live_url: str, make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    project_id = await new_project(client, make_user)
    reporter = make_user()
    responses = await race(live_url, project_id, [reporter] * 10)

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 9, [r.text for r in responses]
    codes = {r.json()["code"] for r in responses if r.status_code == 409}
    assert codes == {"duplicate_report"}
    assert await sql.fetchval("select count(*) from project_reports") == 1


async def test_many_reporters_crossing_the_threshold_at_once_open_exactly_one_review(
    client: AsyncTestClient[Litestar], live_url: str, make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    project_id = await new_project(client, make_user)
    responses = await race(live_url, project_id, [make_user() for _ in range(16)])

    assert [r.status_code for r in responses] == [201] * 16, [r.text for r in responses]
    bodies: list[dict[str, Any]] = [r.json() for r in responses]
    assert sum(b["review_triggered"] for b in bodies) == 1
    [review] = await open_reviews(sql, project_id)
    assert float(review["weight_sum"]) == 3.0  # opened by exactly the sixth report, none missed or double-counted
    assert await sql.fetchval("select count(*) from moderation_reviews") == 1
    assert await sql.fetchval("select count(*) from project_reports where review_id = $1", review["review_id"]) == 16
    assert len(await review_notifications(sql)) == 1


async def test_concurrent_fraud_reports_open_exactly_one_review(
    client: AsyncTestClient[Litestar], live_url: str, make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    project_id = await new_project(client, make_user)
    responses = await race(live_url, project_id, [make_user() for _ in range(8)], reason="fraud")

    assert [r.status_code for r in responses] == [201] * 8, [r.text for r in responses]
    assert sum(r.json()["review_triggered"] for r in responses) == 1
    [review] = await open_reviews(sql, project_id)
    assert (review["trigger"], float(review["fraud_weight_sum"])) == ("fraud_weight", 1.5)
    assert len(await review_notifications(sql)) == 1


async def test_a_threshold_crossed_only_by_two_racing_reports_is_not_missed(
    client: AsyncTestClient[Litestar], live_url: str, make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    """2.0 on record; two reports of 0.5 race: each alone sees 2.5, together they make 3.0."""
    projects = [await new_project(client, make_user) for _ in range(8)]
    for project_id in projects:
        for _ in range(4):
            await seed_report(sql, project_id, days_ago=1)
    results = await asyncio.gather(*(race(live_url, p, [make_user(), make_user()]) for p in projects))

    for project_id, responses in zip(projects, results, strict=True):
        assert [r.status_code for r in responses] == [201, 201]
        assert sum(r.json()["review_triggered"] for r in responses) == 1, project_id
        [review] = await open_reviews(sql, project_id)
        assert float(review["weight_sum"]) == 3.0
    assert len(await review_notifications(sql)) == len(projects)


async def test_racing_decisions_decide_once_and_move_trust_once(
    client: AsyncTestClient[Litestar], live_url: str, make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    project_id = await new_project(client, make_user)
    reporters = [make_user() for _ in range(3)]
    await race(live_url, project_id, reporters, reason="fraud")
    [review] = await open_reviews(sql, project_id)
    url = f"/v1/moderation/reviews/{review['review_id']}/decision"
    outcomes = ["upheld", "rejected"] * 5
    async with httpx.AsyncClient(base_url=live_url, timeout=30) as http:
        responses = await asyncio.gather(
            *(http.post(url, json={"outcome": o}, headers=make_user("ops").headers) for o in outcomes)
        )

    winner = await sql.fetchval("select outcome from moderation_reviews where review_id = $1", review["review_id"])
    for outcome, response in zip(outcomes, responses, strict=True):
        if outcome == winner:
            assert response.status_code == 200, response.text
            assert response.json()["outcome"] == winner
        else:
            assert response.status_code == 409, response.text
            assert response.json()["code"] == "review_already_decided"
    expected = 0.6 if winner == "upheld" else 0.4
    scores = await sql.fetch("select score, upheld_count + rejected_count as decided from reporter_trust")
    assert [(float(r["score"]), r["decided"]) for r in scores] == [(expected, 1)] * 3
