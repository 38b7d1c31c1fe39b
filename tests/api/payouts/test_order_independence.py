"""The payout schedule does not depend on the order or repetition of a support's webhooks: the same
scenarios as the support status property test, compared on what is scheduled for the creator."""

from __future__ import annotations

import uuid

import asyncpg
from hypothesis import HealthCheck, given, settings
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.api.payments.flows import AMOUNT, SCENARIOS, deliveries, play
from tests.conftest import MakeUser

# What each scenario leaves for the creator before release.
SCHEDULED = {
    "retry_after_decline": AMOUNT,
    "refund": 0,
    "dispute_lost": 0,
    "dispute_won": AMOUNT,
    "refund_then_lost": 0,
}


async def scheduled_for(sql: asyncpg.Connection, support_id: str) -> tuple[int, list[tuple[str, int, int]]]:
    """The support's items total, and every payout of its project (status, amount, support count)."""
    total = await sql.fetchval(
        "select coalesce(sum(amount_minor), 0) from payout_items where support_id = $1", uuid.UUID(support_id)
    )
    rows = await sql.fetch(  # a scheduled payout's amount is its items' (an empty one is not a payout)
        "select p.status, sum(i.amount_minor) as amount_minor, count(i.*) as support_count "
        "from project_payouts p join payout_items i using (payout_id) "
        "join supports s on s.project_id = p.project_id where s.support_id = $1 group by p.payout_id, p.status",
        uuid.UUID(support_id),
    )
    return int(total), [(r["status"], r["amount_minor"], r["support_count"]) for r in rows]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=deliveries())
async def test_the_schedule_does_not_depend_on_webhook_order_or_repetition(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection, drawn: tuple[str, list[int]]
) -> None:
    scenario, sequence = drawn
    natural = await play(client, make_user, scenario, list(range(len(SCENARIOS[scenario][0]))))
    shuffled = await play(client, make_user, scenario, sequence)

    expected = SCHEDULED[scenario]
    want = (expected, [("scheduled", expected, 1)] if expected else [])
    assert await scheduled_for(sql, natural["support_id"]) == want
    assert await scheduled_for(sql, shuffled["support_id"]) == want
