"""Webhooks in any order, any number of times: the same final status, a consistent history, and the
same journal. Hypothesis draws a support's event sequence, shuffles it and repeats some events."""

from __future__ import annotations

import itertools
import uuid

import asyncpg
from hypothesis import HealthCheck, given, settings
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.api.payments.flows import FEES_BOOKED, SCENARIOS, deliveries, play
from tests.conftest import MakeUser


async def journal_of(sql: asyncpg.Connection, support_id: str) -> dict[tuple[str, str], int]:
    rows = await sql.fetch(
        "select e.entry_type, l.account_code, sum(l.amount_minor) as total from journal_entries e "
        "join journal_lines l using (entry_id) where e.support_id = $1 group by 1, 2",
        uuid.UUID(support_id),
    )
    return {(r["entry_type"], r["account_code"]): int(r["total"]) for r in rows}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=deliveries())
async def test_final_state_does_not_depend_on_order_or_repetition(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection, drawn: tuple[str, list[int]]
) -> None:
    scenario, sequence = drawn
    kinds, expected = SCENARIOS[scenario]
    natural = await play(client, make_user, scenario, list(range(len(kinds))))
    shuffled = await play(client, make_user, scenario, sequence)

    assert natural["status"] == expected
    assert shuffled["status"] == expected
    assert await journal_of(sql, shuffled["support_id"]) == await journal_of(sql, natural["support_id"])
    # Each balance transaction the disputes carry has its fee booked once, whatever the order and repetition.
    fees = await sql.fetchval(
        "select count(*) from journal_entries where entry_type = 'provider_fee' and support_id = $1",
        uuid.UUID(shuffled["support_id"]),
    )
    assert fees == FEES_BOOKED.get(scenario, 0)
    assert await sql.fetchval("select coalesce(sum(amount_minor), 0) from journal_lines") == 0

    history = shuffled["history"]
    applied = [h for h in history if h["applied"]]
    for before, after in itertools.pairwise(applied):
        assert after["from_status"] == before["to_status"]
    assert applied[-1]["to_status"] == expected
    assert all(h["from_status"] == h["to_status"] for h in history if not h["applied"])
    distinct = len(set(sequence))
    assert sum(1 for h in history if h["source"] == "webhook") == distinct  # duplicates leave no trace
