"""The SLA sweep: breaches logged at the right instants only, once per clock, however many sweeps run;
each breach escalates the dispute and notifies ops once."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from datetime import timedelta

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.db.engine import Database
from api.disputes.jobs import sweep_sla
from tests.api.disputes.flows import DAY, at, close, deliveries, open_dispute, paid_support
from tests.conftest import MakeUser

MICRO = timedelta(microseconds=1)


async def breaches(sql: asyncpg.Connection) -> list[tuple[str, str]]:
    rows = await sql.fetch("select dispute_id::text, clock from dispute_sla_breaches order by due_at")
    return [(r["dispute_id"], r["clock"]) for r in rows]


async def test_each_clock_breaches_just_after_its_due_instant_and_only_once(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection, db: Database
) -> None:
    paid = await paid_support(client, make_user)
    created = int(time.time()) - 60
    due_by = created + 10 * DAY
    dispute_id = await open_dispute(client, paid, created=created, due_by=due_by)
    ack_due, triage_due = at(created) + timedelta(hours=24), at(created) + timedelta(hours=72)
    resolution_due = at(due_by) - timedelta(hours=24)

    assert await sweep_sla(db, ack_due) == 0  # due, not yet late
    assert await breaches(sql) == []
    assert await sweep_sla(db, ack_due + MICRO) == 1
    assert await sweep_sla(db, ack_due + MICRO) == 0
    assert await sweep_sla(db, triage_due) == 0
    assert await breaches(sql) == [(dispute_id, "ack")]

    row = await sql.fetchrow(
        "select escalated, escalation_reason from disputes where dispute_id = $1", uuid.UUID(dispute_id)
    )
    assert row["escalated"] is True
    assert "ack" in row["escalation_reason"]

    assert await sweep_sla(db, triage_due + MICRO) == 1
    assert await sweep_sla(db, resolution_due) == 0
    assert await sweep_sla(db, resolution_due + MICRO) == 1
    assert await sweep_sla(db, resolution_due + timedelta(days=30)) == 0
    assert await breaches(sql) == [(dispute_id, "ack"), (dispute_id, "triage"), (dispute_id, "resolution")]

    ops = make_user("ops")
    document = (await client.get(f"/v1/disputes/{dispute_id}", headers=ops.headers)).json()
    assert [(b["clock"], b["due_at"]) for b in document["sla"]["breaches"]] == [
        (clock, due.isoformat().replace("+00:00", "Z"))
        for clock, due in (("ack", ack_due), ("triage", triage_due), ("resolution", resolution_due))
    ]
    assert document["sla"]["breaches"][0]["detected_at"] == (ack_due + MICRO).isoformat().replace("+00:00", "Z")
    assert document["escalated"] is True
    assert await deliveries(sql, "dispute_sla_breach") == Counter({("ops", "ops"): 3})
    keys = await sql.fetch("select dedupe_key from notification_events where event_type = 'dispute_sla_breach'")
    assert {k["dedupe_key"] for k in keys} == {
        f"dispute_sla_breach:{dispute_id}:{clock}" for clock in ("ack", "triage", "resolution")
    }


async def test_stamps_in_time_prevent_breaches_and_late_stamps_do_not(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection, db: Database
) -> None:
    """A stamp in time stops its clock; a late stamp still counts as a breach (the deadline was missed)."""
    created = int(time.time()) - 60
    on_time, late = await paid_support(client, make_user), await paid_support(client, make_user)
    on_time_id = await open_dispute(client, on_time, created=created, due_by=created + 10 * DAY)
    late_id = await open_dispute(client, late, created=created - 25 * 3600, due_by=created + 10 * DAY)
    ops = make_user("ops")
    for dispute_id in (on_time_id, late_id):  # stamped now: ack and triage of on_time in time; late's ack 1 h late
        response = await client.post(f"/v1/disputes/{dispute_id}/triage", headers=ops.headers)
        assert response.status_code == 200

    assert await sweep_sla(db, at(created) + timedelta(hours=73)) == 1
    assert await breaches(sql) == [(late_id, "ack")]


async def test_amount_escalation_keeps_its_reason_and_closed_disputes_never_breach(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection, db: Database
) -> None:
    created = int(time.time()) - 60
    big, closed = await paid_support(client, make_user, amount=60_000), await paid_support(client, make_user)
    big_id = await open_dispute(client, big, created=created, due_by=created + 10 * DAY)
    await open_dispute(client, closed, created=created, due_by=created + 10 * DAY)
    await close(client, closed, created=created, due_by=created + 10 * DAY, outcome="won")

    assert await sweep_sla(db, at(created) + timedelta(days=30)) == 3
    assert {d for d, _ in await breaches(sql)} == {big_id}
    reason = await sql.fetchval("select escalation_reason from disputes where dispute_id = $1", uuid.UUID(big_id))
    assert "60000" in reason


@pytest.mark.parametrize("sweepers", [2, 6])
async def test_concurrent_sweeps_log_and_notify_each_breach_once(
    client: AsyncTestClient[Litestar],
    make_user: MakeUser,
    sql: asyncpg.Connection,
    database_url: str,
    sweepers: int,
) -> None:
    created = int(time.time()) - 60
    ids = []
    for _ in range(5):
        paid = await paid_support(client, make_user)
        ids.append(await open_dispute(client, paid, created=created, due_by=created + 10 * DAY))
    databases = [Database.connect(database_url, pool_size=1) for _ in range(sweepers)]
    try:
        later = at(created) + timedelta(days=30)
        counts = await asyncio.gather(*(sweep_sla(database, later, limit=2) for database in databases))
        counts += await asyncio.gather(*(sweep_sla(database, later) for database in databases))  # the leftovers
    finally:
        for database in databases:
            await database.dispose()

    assert sum(counts) == 15
    assert Counter(clock for _, clock in await breaches(sql)) == {"ack": 5, "triage": 5, "resolution": 5}
    assert await sql.fetchval("select count(*) from notification_events where event_type = 'dispute_sla_breach'") == 15
    assert await deliveries(sql, "dispute_sla_breach") == Counter({("ops", "ops"): 15})
