"""Opening a dispute: SLA clocks from Stripe's `created`/`evidence_due_by`, escalation by amount, and the
`dispute_opened` notification, once, whatever the order or repetition of the dispute events."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from datetime import timedelta

import asyncpg
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.api.disputes.flows import DAY, at, close, deliveries, dispute_event, open_dispute, paid_support
from tests.api.supports.flows import deliver
from tests.conftest import MakeUser


async def test_clocks_start_at_stripe_created_and_resolution_is_a_day_before_the_evidence_deadline(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    paid = await paid_support(client, make_user)
    created = int(time.time()) - 3 * 3600  # Stripe created it three hours before we hear of it
    due_by = created + 9 * DAY
    dispute_id = await open_dispute(client, paid, created=created, due_by=due_by)

    ops = make_user("ops")
    body = (await client.get(f"/v1/disputes/{dispute_id}", headers=ops.headers)).json()
    assert body["status"] == "open"
    assert body["support_id"] == paid.support_id
    assert body["project_id"] == paid.project_id
    assert (body["amount_minor"], body["currency"], body["reason"]) == (2_500, "EUR", "fraudulent")
    sla = body["sla"]
    assert sla["ack_due_at"] == (at(created) + timedelta(hours=24)).isoformat().replace("+00:00", "Z")
    assert sla["triage_due_at"] == (at(created) + timedelta(hours=72)).isoformat().replace("+00:00", "Z")
    assert sla["resolution_due_at"] == (at(due_by) - timedelta(hours=24)).isoformat().replace("+00:00", "Z")
    assert (sla["acked_at"], sla["triaged_at"], sla["resolved_at"], sla["breaches"]) == (None, None, None, [])
    assert (body["escalated"], body["escalation_reason"], body["recovery_attempts"]) == (False, None, [])

    # Every SLA field is a column: reporting reads them with plain SQL.
    row = await sql.fetchrow(
        "select ack_due_at, acked_at, acked_by, triage_due_at, triaged_at, triaged_by, resolution_due_at, "
        "resolved_at, escalated, escalation_reason, evidence_due_by, provider_created_at "
        "from disputes where dispute_id = $1",
        uuid.UUID(dispute_id),
    )
    assert row["provider_created_at"] == at(created)
    assert row["ack_due_at"] == at(created) + timedelta(hours=24)
    assert row["triage_due_at"] == at(created) + timedelta(hours=72)
    assert row["resolution_due_at"] == at(due_by) - timedelta(hours=24)
    assert row["evidence_due_by"] == at(due_by)
    assert [row[c] for c in ("acked_at", "acked_by", "triaged_at", "triaged_by", "resolved_at")] == [None] * 5
    assert (row["escalated"], row["escalation_reason"]) == (False, None)


async def test_without_an_evidence_deadline_resolution_is_due_seven_days_after_created(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    paid = await paid_support(client, make_user)
    created = int(time.time()) - 60
    dispute_id = await open_dispute(client, paid, created=created, due_by=None)
    row = await sql.fetchrow(
        "select evidence_due_by, resolution_due_at from disputes where dispute_id = $1", uuid.UUID(dispute_id)
    )
    assert row["evidence_due_by"] is None
    assert row["resolution_due_at"] == at(created) + timedelta(days=7)


async def test_amounts_at_the_default_threshold_escalate_at_opening(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    created = int(time.time()) - 60
    big = await paid_support(client, make_user, amount=50_000)
    small = await paid_support(client, make_user, amount=49_999)
    big_id = await open_dispute(client, big, created=created, due_by=created + 9 * DAY)
    small_id = await open_dispute(client, small, created=created, due_by=created + 9 * DAY)
    rows = {
        str(r["dispute_id"]): (r["escalated"], r["escalation_reason"])
        for r in await sql.fetch("select dispute_id, escalated, escalation_reason from disputes")
    }
    assert rows[small_id] == (False, None)
    assert rows[big_id][0] is True
    assert "50000" in rows[big_id][1]


async def test_clocks_and_threshold_follow_the_environment(
    client: AsyncTestClient[Litestar],
    short_sla_client: AsyncTestClient[Litestar],
    make_user: MakeUser,
    sql: asyncpg.Connection,
) -> None:
    """PATRONAGE_DISPUTE_ACK_HOURS=2, _TRIAGE_HOURS=5, _ESCALATION_MINOR=2000 (see conftest)."""
    paid = await paid_support(short_sla_client, make_user, amount=2_500)
    created = int(time.time()) - 60
    dispute_id = await open_dispute(short_sla_client, paid, created=created, due_by=created + 9 * DAY)
    row = await sql.fetchrow(
        "select ack_due_at, triage_due_at, escalated, escalation_reason from disputes where dispute_id = $1",
        uuid.UUID(dispute_id),
    )
    assert row["ack_due_at"] == at(created) + timedelta(hours=2)
    assert row["triage_due_at"] == at(created) + timedelta(hours=5)
    assert row["escalated"] is True
    assert "2000" in row["escalation_reason"]


async def test_dispute_opened_notifies_the_creator_by_email_and_ops_once_despite_redelivery(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    paid = await paid_support(client, make_user)
    created = int(time.time()) - 60
    opened = dispute_event(paid, created=created, due_by=created + 9 * DAY)
    assert (await deliver(client, opened))["outcome"] == "applied"
    assert (await deliver(client, opened))["duplicate"] is True
    await close(client, paid, created=created, due_by=created + 9 * DAY, outcome="won")

    assert await deliveries(sql, "dispute_opened") == Counter(
        {(str(paid.creator.user_id), "email"): 1, ("ops", "ops"): 1}
    )
    payload = await sql.fetchval("select payload::text from notification_events where event_type = 'dispute_opened'")
    assert paid.support_id in payload
    assert '"amount_minor": 2500' in payload


async def test_closed_before_created_opens_once_resolved_at_the_closing_time(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    paid = await paid_support(client, make_user)
    created = int(time.time()) - 600
    closed_at = created + 300
    lost = dispute_event(paid, created=created, due_by=created + 9 * DAY, status="lost", closed_at=closed_at)
    assert (await deliver(client, lost))["outcome"] == "applied"
    assert (await deliver(client, dispute_event(paid, created=created, due_by=created + 9 * DAY)))["outcome"] in (
        "applied",
        "not_applied",
    )

    rows = await sql.fetch(
        "select status, provider_created_at, ack_due_at, resolved_at, closed_at from disputes where support_id = $1",
        uuid.UUID(paid.support_id),
    )
    assert len(rows) == 1
    assert rows[0]["status"] == "lost"
    assert rows[0]["ack_due_at"] == at(created) + timedelta(hours=24)
    assert rows[0]["resolved_at"] == rows[0]["closed_at"] == at(closed_at)
    assert await deliveries(sql, "dispute_opened") == Counter(
        {(str(paid.creator.user_id), "email"): 1, ("ops", "ops"): 1}
    )
