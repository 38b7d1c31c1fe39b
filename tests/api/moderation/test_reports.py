"""Filing reports: weights from trust, one per reporter and UTC day, validation, access and idempotency."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.api.flows import assert_problem
from tests.api.moderation.flows import new_project, report, seed_report, set_trust
from tests.api.projects.flows import create_project
from tests.conftest import MakeUser


async def test_a_new_account_reports_with_weight_one_half_and_the_report_is_stored(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    project_id = await new_project(client, make_user)
    reporter = make_user("supporter")
    body = await report(client, reporter, project_id, "ip_infringement", details="Copied from my shop.")
    details = "Copied from my shop."

    assert body["weight"] == 0.5
    assert body["review_triggered"] is False
    row = await sql.fetchrow("select * from project_reports where report_id = $1", uuid.UUID(body["report_id"]))
    assert row is not None
    assert (row["reporter_id"], row["reason"], row["details"]) == (reporter.user_id, "ip_infringement", details)
    assert float(row["weight"]) == 0.5
    assert row["report_date"] == row["created_at"].date()
    assert row["review_id"] is None


async def test_the_weight_is_the_reporters_trust_at_report_time(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    project_id = await new_project(client, make_user)
    trusted, doubted = make_user("supporter"), make_user("creator")
    await set_trust(sql, trusted, 0.9)
    await set_trust(sql, doubted, 0.1)

    assert (await report(client, trusted, project_id))["weight"] == 0.9
    assert (await report(client, doubted, project_id))["weight"] == 0.1
    weights = await sql.fetch("select weight from project_reports order by weight")
    assert [float(r["weight"]) for r in weights] == [0.1, 0.9]


async def test_a_second_report_the_same_utc_day_is_409_but_another_day_or_project_is_fine(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    project_id, other_project = await new_project(client, make_user), await new_project(client, make_user)
    reporter = make_user("supporter")
    await seed_report(sql, project_id, days_ago=1, reporter=reporter)  # yesterday's report

    await report(client, reporter, project_id)
    again = await client.post(
        f"/v1/projects/{project_id}/reports", json={"reason": "fraud"}, headers=reporter.posting()
    )
    assert_problem(again, 409, "duplicate_report")
    await report(client, reporter, other_project)
    assert await sql.fetchval("select count(*) from project_reports where reporter_id = $1", reporter.user_id) == 3


async def test_the_database_refuses_a_duplicate_report_written_around_the_api(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    project_id = await new_project(client, make_user)
    reporter = make_user("supporter")
    await seed_report(sql, project_id, days_ago=0, reporter=reporter)
    with pytest.raises(asyncpg.UniqueViolationError):
        await seed_report(sql, project_id, days_ago=0, reporter=reporter)


async def test_replaying_the_same_idempotency_key_answers_the_stored_report(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    project_id = await new_project(client, make_user)
    headers = make_user("supporter").posting("report-key")
    url = f"/v1/projects/{project_id}/reports"
    first = await client.post(url, json={"reason": "spam"}, headers=headers)
    second = await client.post(url, json={"reason": "spam"}, headers=headers)

    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert await sql.fetchval("select count(*) from project_reports") == 1
    reused = await client.post(url, json={"reason": "fraud"}, headers=headers)
    assert_problem(reused, 422, "idempotency_key_reused")


async def test_reporting_requires_an_idempotency_key(client: AsyncTestClient[Litestar], make_user: MakeUser) -> None:
    project_id = await new_project(client, make_user)
    response = await client.post(
        f"/v1/projects/{project_id}/reports", json={"reason": "spam"}, headers=make_user().headers
    )
    assert_problem(response, 400, "idempotency_key_required")


async def test_reporting_without_a_token_is_401(client: AsyncTestClient[Litestar], make_user: MakeUser) -> None:
    project_id = await new_project(client, make_user)
    response = await client.post(
        f"/v1/projects/{project_id}/reports", json={"reason": "spam"}, headers={"Idempotency-Key": "k"}
    )
    assert_problem(response, 401, "unauthorized")


async def test_every_role_may_report(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    project_id = await new_project(client, make_user)
    for role in ("supporter", "creator", "ops"):
        await report(client, make_user(role), project_id)
    assert await sql.fetchval("select count(*) from project_reports") == 3


async def test_unknown_project_is_404(client: AsyncTestClient[Litestar], make_user: MakeUser) -> None:
    response = await client.post(
        f"/v1/projects/{uuid.uuid4()}/reports", json={"reason": "spam"}, headers=make_user().posting()
    )
    assert_problem(response, 404, "project_not_found")


async def test_the_creator_cannot_report_their_own_project(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    creator = make_user("creator")
    project = await create_project(client, creator)
    response = await client.post(
        f"/v1/projects/{project['project_id']}/reports", json={"reason": "spam"}, headers=creator.posting()
    )
    assert_problem(response, 422, "self_report")
    assert await sql.fetchval("select count(*) from project_reports") == 0


@pytest.mark.parametrize(
    "body",
    [
        {"reason": "spam", "details": "x" * 2001},
        {"reason": "boring"},
        {},
        {"reason": "spam", "weight": 1.0},
        {"reason": "spam", "details": 5},
    ],
    ids=["details_over_2000", "unknown_reason", "missing_reason", "unknown_field", "details_not_text"],
)
async def test_bad_bodies_are_422_and_write_nothing(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection, body: dict[str, object]
) -> None:
    project_id = await new_project(client, make_user)
    response = await client.post(f"/v1/projects/{project_id}/reports", json=body, headers=make_user().posting())
    assert_problem(response, 422, "validation_failed")
    assert await sql.fetchval("select count(*) from project_reports") == 0


async def test_details_of_exactly_2000_characters_are_accepted(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    project_id = await new_project(client, make_user)
    await report(client, make_user(), project_id, details="é" * 2000)
    assert await sql.fetchval("select char_length(details) from project_reports") == 2000
