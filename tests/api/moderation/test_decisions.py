"""Deciding a review case: once, by ops; upheld raises and rejected lowers each reporter's trust (clamped)."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.api.flows import assert_problem
from tests.api.moderation.flows import new_project, open_reviews, report, set_trust, trust
from tests.conftest import MakeUser, User


async def reviewed_project(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection, reporters: list[User]
) -> tuple[str, str]:
    """A project whose reports by `reporters` (fraud, so three of 0.5 suffice) opened a review."""
    project_id = await new_project(client, make_user)
    for reporter in reporters:
        await report(client, reporter, project_id, "fraud")
    [review] = await open_reviews(sql, project_id)
    return project_id, str(review["review_id"])


async def decide(client: AsyncTestClient[Litestar], ops: User, review_id: str, outcome: str) -> Any:
    return await client.post(
        f"/v1/moderation/reviews/{review_id}/decision", json={"outcome": outcome}, headers=ops.headers
    )


async def test_upholding_raises_each_reporters_trust_and_their_next_report_weighs_more(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    reporters = [make_user() for _ in range(3)]
    _, review_id = await reviewed_project(client, make_user, sql, reporters)
    ops = make_user("ops")

    response = await decide(client, ops, review_id, "upheld")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["outcome"], body["decided_by"]) == ("upheld", "upheld", str(ops.user_id))
    assert body["decided_at"] is not None
    assert [await trust(sql, r) for r in reporters] == [0.6, 0.6, 0.6]
    counts = await sql.fetchrow(
        "select upheld_count, rejected_count from reporter_trust where user_id = $1", reporters[0].user_id
    )
    assert tuple(counts) == (1, 0)

    elsewhere = await new_project(client, make_user)
    assert (await report(client, reporters[0], elsewhere))["weight"] == 0.6


async def test_rejecting_lowers_trust_and_leaves_non_reporters_alone(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    reporters = [make_user() for _ in range(3)]
    bystander = make_user()
    _, review_id = await reviewed_project(client, make_user, sql, reporters)

    body = (await decide(client, make_user("ops"), review_id, "rejected")).json()
    assert body["status"] == "rejected"
    assert [await trust(sql, r) for r in reporters] == [0.4, 0.4, 0.4]
    assert await trust(sql, bystander) is None
    elsewhere = await new_project(client, make_user)
    assert (await report(client, reporters[1], elsewhere))["weight"] == 0.4


async def test_trust_is_clamped_to_between_one_tenth_and_one(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    high, low, new = make_user(), make_user(), make_user()
    await set_trust(sql, high, 0.95)
    await set_trust(sql, low, 0.15)
    ops = make_user("ops")

    # high (0.95) + low (0.15) + new (0.5) = 1.6 fraud weight: one review, upheld.
    _, first = await reviewed_project(client, make_user, sql, [high, low, new])
    await decide(client, ops, first, "upheld")
    assert [await trust(sql, u) for u in (high, low, new)] == [1.0, 0.25, 0.6]

    # Two more cases on other projects, both rejected: the low reporter bottoms out at 0.1.
    for outcome_round in range(2):
        _, review_id = await reviewed_project(client, make_user, sql, [high, low, new])
        assert (await decide(client, ops, review_id, "rejected")).status_code == 200, outcome_round
    assert [await trust(sql, u) for u in (high, low, new)] == [0.8, 0.1, 0.4]

    elsewhere = await new_project(client, make_user)
    assert (await report(client, low, elsewhere))["weight"] == 0.1


async def test_a_decision_is_made_once(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    reporters = [make_user() for _ in range(3)]
    _, review_id = await reviewed_project(client, make_user, sql, reporters)
    ops, other_ops = make_user("ops"), make_user("ops")

    first = await decide(client, ops, review_id, "upheld")
    same = await decide(client, other_ops, review_id, "upheld")
    assert same.status_code == 200
    assert same.json() == first.json()  # still decided by the first moderator, at the first time
    assert_problem(await decide(client, other_ops, review_id, "rejected"), 409, "review_already_decided")
    assert [await trust(sql, r) for r in reporters] == [0.6, 0.6, 0.6]  # applied once


async def test_after_a_decision_new_reports_can_open_a_new_review(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    project_id, review_id = await reviewed_project(client, make_user, sql, [make_user() for _ in range(3)])
    ops = make_user("ops")
    await decide(client, ops, review_id, "rejected")

    # The judged reports no longer count: it takes a fresh 1.5 of fraud weight.
    answers = [await report(client, make_user(), project_id, "fraud") for _ in range(3)]
    assert [a["review_triggered"] for a in answers] == [False, False, True]
    body = (await client.get(f"/v1/projects/{project_id}/moderation", headers=ops.headers)).json()
    assert body["open_review"]["trigger_inputs"]["report_ids"] == [a["report_id"] for a in answers]
    [past] = body["past_reviews"]
    assert (past["review_id"], past["outcome"]) == (review_id, "rejected")
    assert past["trigger_inputs"]["fraud_weight_sum"] == 1.5
    assert len(body["reports"]) == 6


async def test_deciding_is_for_ops_only(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    _, review_id = await reviewed_project(client, make_user, sql, [make_user() for _ in range(3)])
    for role in ("supporter", "creator"):
        assert_problem(await decide(client, make_user(role), review_id, "upheld"), 403, "forbidden")
    anonymous = await client.post(f"/v1/moderation/reviews/{review_id}/decision", json={"outcome": "upheld"})
    assert_problem(anonymous, 401, "unauthorized")
    assert await sql.fetchval("select status from moderation_reviews") == "open"


async def test_unknown_review_is_404_and_bad_outcomes_are_422(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    ops = make_user("ops")
    assert_problem(await decide(client, ops, str(uuid.uuid4()), "upheld"), 404, "not_found")
    _, review_id = await reviewed_project(client, make_user, sql, [make_user() for _ in range(3)])
    assert_problem(await decide(client, ops, review_id, "open"), 422, "validation_failed")
    extra = await client.post(
        f"/v1/moderation/reviews/{review_id}/decision",
        json={"outcome": "upheld", "decided_by": str(uuid.uuid4())},
        headers=ops.headers,
    )
    assert_problem(extra, 422, "validation_failed")
    assert await sql.fetchval("select status from moderation_reviews") == "open"
