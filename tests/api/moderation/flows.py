"""Helpers for moderation tests: a reported project, reports seeded in the past, what the database holds."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.api.projects.flows import create_project
from tests.conftest import MakeUser, User


async def new_project(client: AsyncTestClient[Litestar], make_user: MakeUser) -> str:
    project = await create_project(client, make_user("creator"))
    return str(project["project_id"])


async def report(
    client: AsyncTestClient[Litestar], reporter: User, project_id: str, reason: str = "spam", **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        f"/v1/projects/{project_id}/reports", json={"reason": reason, **extra}, headers=reporter.posting()
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def seed_report(
    sql: asyncpg.Connection,
    project_id: str,
    *,
    days_ago: float,
    reason: str = "spam",
    weight: float = 0.5,
    reporter: User | None = None,
) -> uuid.UUID:
    """A report filed `days_ago` (by a fresh reporter unless given), written directly: the API files only now."""
    report_id = uuid.uuid4()
    at = datetime.now(UTC) - timedelta(days=days_ago)
    await sql.execute(
        "insert into project_reports (report_id, project_id, reporter_id, reason, weight, report_date, created_at) "
        "values ($1, $2, $3, $4, $5, $6, $7)",
        report_id,
        uuid.UUID(project_id),
        reporter.user_id if reporter else uuid.uuid4(),
        reason,
        weight,
        at.date(),
        at,
    )
    return report_id


async def set_trust(sql: asyncpg.Connection, user: User, score: float) -> None:
    await sql.execute("insert into reporter_trust (user_id, score) values ($1, $2)", user.user_id, score)


async def trust(sql: asyncpg.Connection, user: User) -> float | None:
    value = await sql.fetchval("select score from reporter_trust where user_id = $1", user.user_id)
    return None if value is None else float(value)


async def open_reviews(sql: asyncpg.Connection, project_id: str) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await sql.fetch(
        "select * from moderation_reviews where project_id = $1 and status = 'open'", uuid.UUID(project_id)
    )
    return rows


async def review_notifications(sql: asyncpg.Connection) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await sql.fetch(
        "select e.payload, d.channel, d.recipient_id from notification_events e "
        "join notification_deliveries d using (notification_event_id) "
        "where e.event_type = 'moderation_review_triggered'"
    )
    return rows
