"""The auto-review trigger: 3.0 weight or 1.5 fraud weight in the trailing 7 days opens one case and tells ops."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.api.flows import assert_problem
from tests.api.moderation.flows import new_project, open_reviews, report, review_notifications, seed_report
from tests.api.projects.flows import create_project
from tests.conftest import MakeUser


async def test_six_new_reporters_reach_three_and_the_sixth_report_opens_the_review(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    project_id = await new_project(client, make_user)
    answers = [await report(client, make_user(), project_id, "spam") for _ in range(6)]

    assert [a["review_triggered"] for a in answers] == [False] * 5 + [True]
    [review] = await open_reviews(sql, project_id)
    assert review["trigger"] == "weight"
    assert float(review["weight_sum"]) == 3.0
    assert float(review["fraud_weight_sum"]) == 0.0
    assert (float(review["weight_threshold"]), float(review["fraud_weight_threshold"])) == (3.0, 1.5)
    assert review["window_days"] == 7
    assert sorted(map(str, review["report_ids"])) == sorted(a["report_id"] for a in answers)
    attached = await sql.fetch("select review_id from project_reports")
    assert {r["review_id"] for r in attached} == {review["review_id"]}


async def test_three_fraud_reports_reach_the_fraud_threshold(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    project_id = await new_project(client, make_user)
    await report(client, make_user(), project_id, "spam")
    answers = [await report(client, make_user(), project_id, "fraud") for _ in range(3)]

    assert [a["review_triggered"] for a in answers] == [False, False, True]
    [review] = await open_reviews(sql, project_id)
    assert review["trigger"] == "fraud_weight"
    assert (float(review["weight_sum"]), float(review["fraud_weight_sum"])) == (2.0, 1.5)
    assert len(review["report_ids"]) == 4


async def test_ops_is_notified_once_on_the_ops_channel(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    project_id = await new_project(client, make_user)
    for _ in range(8):
        await report(client, make_user(), project_id, "fraud")

    [review] = await open_reviews(sql, project_id)
    [delivery] = await review_notifications(sql)
    assert (delivery["channel"], delivery["recipient_id"]) == ("ops", None)
    event = await sql.fetchrow(
        "select dedupe_key, payload->>'review_id' as review_id, payload->>'project_id' as project_id "
        "from notification_events where event_type = 'moderation_review_triggered'"
    )
    assert event is not None
    assert event["dedupe_key"] == f"moderation_review_triggered:{review['review_id']}"
    assert (event["review_id"], event["project_id"]) == (str(review["review_id"]), project_id)


async def test_reports_filed_while_a_review_is_open_join_it_and_open_no_second_one(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    project_id = await new_project(client, make_user)
    for _ in range(6):
        await report(client, make_user(), project_id)
    later = [await report(client, make_user(), project_id) for _ in range(6)]

    assert not any(a["review_triggered"] for a in later)
    [review] = await open_reviews(sql, project_id)
    assert len(review["report_ids"]) == 6  # the trigger inputs stay as they were
    assert await sql.fetchval("select count(*) from project_reports where review_id = $1", review["review_id"]) == 12
    assert len(await review_notifications(sql)) == 1


async def test_reports_older_than_seven_days_do_not_count(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    project_id = await new_project(client, make_user)
    recent = [await seed_report(sql, project_id, days_ago=6.9) for _ in range(4)]
    for _ in range(4):
        await seed_report(sql, project_id, days_ago=7.1)

    first = await report(client, make_user(), project_id)
    assert first["review_triggered"] is False  # 2.5 within the window, 4.5 counting the old ones
    second = await report(client, make_user(), project_id)
    assert second["review_triggered"] is True

    [review] = await open_reviews(sql, project_id)
    assert float(review["weight_sum"]) == 3.0
    assert set(review["report_ids"]) == {*recent, uuid.UUID(first["report_id"]), uuid.UUID(second["report_id"])}
    assert (review["created_at"] - review["window_start"]).days == 7


async def test_the_database_refuses_a_second_open_review(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    project_id = await new_project(client, make_user)
    for _ in range(6):
        await report(client, make_user(), project_id)
    with pytest.raises(asyncpg.UniqueViolationError):
        await sql.execute(
            "insert into moderation_reviews (review_id, project_id, trigger, weight_sum, fraud_weight_sum, "
            "weight_threshold, fraud_weight_threshold, window_days, window_start, report_ids) "
            "values (gen_random_uuid(), $1, 'weight', 3, 0, 3, 1.5, 7, now(), '{}')",
            uuid.UUID(project_id),
        )


async def test_ops_sees_reports_with_weights_and_the_open_review(
    client: AsyncTestClient[Litestar], make_user: MakeUser
) -> None:
    project_id = await new_project(client, make_user)
    reporters = [make_user() for _ in range(6)]
    for reporter in reporters:
        await report(client, reporter, project_id, "prohibited_item", details="Sells knives.")
    ops = make_user("ops")

    response = await client.get(f"/v1/projects/{project_id}/moderation", headers=ops.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["project_id"] == project_id
    assert {r["reporter_id"] for r in body["reports"]} == {str(r.user_id) for r in reporters}
    assert {(r["weight"], r["reason"], r["details"]) for r in body["reports"]} == {
        (0.5, "prohibited_item", "Sells knives.")
    }
    review = body["open_review"]
    assert review["status"] == "open"
    assert review["trigger"] == "weight"
    assert review["trigger_inputs"]["weight_sum"] == 3.0
    assert review["trigger_inputs"]["window_days"] == 7
    assert {r["review_id"] for r in body["reports"]} == {review["review_id"]}
    assert body["past_reviews"] == []


async def test_a_project_never_reported_has_an_empty_moderation_view(
    client: AsyncTestClient[Litestar], make_user: MakeUser
) -> None:
    project_id = await new_project(client, make_user)
    response = await client.get(f"/v1/projects/{project_id}/moderation", headers=make_user("ops").headers)
    assert response.json() == {"project_id": project_id, "reports": [], "open_review": None, "past_reviews": []}


async def test_the_moderation_view_is_for_ops_only(client: AsyncTestClient[Litestar], make_user: MakeUser) -> None:
    creator = make_user("creator")
    project_id = (await create_project(client, creator))["project_id"]
    url = f"/v1/projects/{project_id}/moderation"
    assert_problem(await client.get(url, headers=creator.headers), 403, "forbidden")
    assert_problem(await client.get(url, headers=make_user("supporter").headers), 403, "forbidden")
    assert_problem(await client.get(url), 401, "unauthorized")
    unknown = await client.get(f"/v1/projects/{uuid.uuid4()}/moderation", headers=make_user("ops").headers)
    assert_problem(unknown, 404, "project_not_found")
