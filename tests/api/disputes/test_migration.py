"""Migration 0006 backfills the SLA clocks of disputes opened before it existed."""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from api.db import migrate
from tests.conftest import _dsn, recreate_database

BEFORE_SLA = "2026_11_27_0004"  # before the payouts and dispute SLA revisions
OPENED = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


async def _seed(conn: asyncpg.Connection) -> dict[str, uuid.UUID]:
    project, tier, support = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await conn.execute(
        "insert into projects (project_id, creator_id, title, description, currency, goal_minor) "
        "values ($1, $2, 'p', 'd', 'EUR', 100000)",
        project,
        uuid.uuid4(),
    )
    await conn.execute(
        "insert into reward_tiers (tier_id, project_id, position, title, amount_minor, reward_type) "
        "values ($1, $2, 0, 't', 1000, 'physical')",
        tier,
        project,
    )
    await conn.execute(
        "insert into supports (support_id, project_id, tier_id, supporter_id, amount_minor, currency, status, "
        "policy_snapshot, expires_at) values ($1, $2, $3, $4, 60000, 'EUR', 'disputed', '{}', now())",
        support,
        project,
        tier,
        uuid.uuid4(),
    )
    ids = {"deadline": uuid.uuid4(), "no_deadline_big": uuid.uuid4(), "lost": uuid.uuid4()}
    for name, amount, status, due_by, closed_at in (
        ("deadline", 2_500, "open", OPENED + timedelta(days=10), None),
        ("no_deadline_big", 60_000, "open", None, None),
        ("lost", 2_500, "lost", OPENED + timedelta(days=10), OPENED + timedelta(days=3)),
    ):
        await conn.execute(
            "insert into disputes (dispute_id, provider_dispute_id, support_id, project_id, status, amount_minor, "
            "currency, evidence_due_by, provider_created_at, closed_at) "
            "values ($1, $2, $3, $4, $5, $6, 'EUR', $7, $8, $9)",
            ids[name],
            f"dp_{name}",
            support,
            project,
            status,
            amount,
            due_by,
            OPENED,
            closed_at,
        )
    return ids


async def test_existing_disputes_get_clocks_resolution_and_amount_escalation(admin_url: str, worker_id: str) -> None:
    prefix = os.environ.get("PATRONAGE_TEST_DB_PREFIX", "patronage_test")
    url = await recreate_database(admin_url, f"{prefix}_sla_backfill_{worker_id}")
    await asyncio.to_thread(migrate.upgrade, url, BEFORE_SLA)
    conn = await asyncpg.connect(_dsn(url))
    try:
        ids = await _seed(conn)
        await asyncio.to_thread(migrate.upgrade, url)
        rows = {
            r["dispute_id"]: r
            for r in await conn.fetch(
                "select dispute_id, ack_due_at, triage_due_at, resolution_due_at, resolved_at, acked_at, "
                "escalated, escalation_reason from disputes"
            )
        }
    finally:
        await conn.close()

    for row in rows.values():
        assert row["ack_due_at"] == OPENED + timedelta(hours=24)
        assert row["triage_due_at"] == OPENED + timedelta(hours=72)
        assert row["acked_at"] is None
    assert rows[ids["deadline"]]["resolution_due_at"] == OPENED + timedelta(days=9)
    assert rows[ids["no_deadline_big"]]["resolution_due_at"] == OPENED + timedelta(days=7)
    assert rows[ids["lost"]]["resolved_at"] == OPENED + timedelta(days=3)
    assert rows[ids["deadline"]]["resolved_at"] is None
    assert [rows[ids[n]]["escalated"] for n in ("deadline", "no_deadline_big", "lost")] == [False, True, False]
    assert "60000" in rows[ids["no_deadline_big"]]["escalation_reason"]
