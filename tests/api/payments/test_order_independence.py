"""Webhooks in any order, any number of times: the same final status, a consistent history, and the
same journal. Hypothesis draws a support's event sequence, shuffles it and repeats some events."""

from __future__ import annotations

import itertools
import time
import uuid
from typing import Any

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests import stripe_events as se
from tests.api.supports.flows import back_project, confirm
from tests.api.supports.test_payment_flow import deliver
from tests.conftest import MakeUser

AMOUNT = 4_000

# Each scenario: the events Stripe would send, in their natural order, and the final status.
SCENARIOS: dict[str, tuple[list[str], str]] = {
    "retry_after_decline": (["failed", "succeeded"], "succeeded"),
    "refund": (["succeeded", "refund_partial", "refund_full"], "refunded"),
    "dispute_lost": (["succeeded", "dispute_created", "dispute_lost"], "charged_back"),
    "dispute_won": (["succeeded", "dispute_created", "dispute_won"], "succeeded"),
    "refund_then_lost": (["succeeded", "refund_partial", "dispute_created", "dispute_lost"], "charged_back"),
}


def build(kind: str, ids: dict[str, str], support_id: str, base: int) -> bytes:
    pi, ch, dp = ids["pi"], ids["ch"], ids["dp"]
    objects: dict[str, tuple[str, dict[str, Any], int]] = {
        "failed": (
            "payment_intent.payment_failed",
            se.payment_intent(
                pi, AMOUNT, "EUR", support_id, status="requires_payment_method", error_code="card_declined"
            ),
            base,
        ),
        "succeeded": (
            "payment_intent.succeeded",
            se.payment_intent(pi, AMOUNT, "EUR", support_id, charge=ch),
            base + 1,
        ),
        "refund_partial": (
            "charge.refunded",
            se.charge(ch, pi, AMOUNT, "EUR", refunded=1_500, refund_id="re_a"),
            base + 2,
        ),
        "refund_full": (
            "charge.refunded",
            se.charge(ch, pi, AMOUNT, "EUR", refunded=AMOUNT, refund_id="re_b"),
            base + 3,
        ),
        "dispute_created": (
            "charge.dispute.created",
            se.dispute(dp, ch, pi, AMOUNT, "EUR", created=base + 4),
            base + 4,
        ),
        "dispute_lost": (
            "charge.dispute.closed",
            se.dispute(dp, ch, pi, AMOUNT, "EUR", status="lost", created=base + 4),
            base + 5,
        ),
        "dispute_won": (
            "charge.dispute.closed",
            se.dispute(dp, ch, pi, AMOUNT, "EUR", status="won", created=base + 4),
            base + 5,
        ),
    }
    event_type, obj, created = objects[kind]
    return se.event(event_type, obj, event_id=f"evt_{kind}_{ids['pi']}", created=created)


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[str, list[int]]:
    scenario = draw(st.sampled_from(sorted(SCENARIOS)))
    count = len(SCENARIOS[scenario][0])
    order = draw(st.permutations(range(count)))
    repeats = draw(st.lists(st.integers(0, count - 1), max_size=3))
    positions = draw(st.lists(st.integers(0, count), min_size=len(repeats), max_size=len(repeats)))
    sequence = list(order)
    for index, at in zip(repeats, positions, strict=True):
        sequence.insert(min(at, len(sequence)), index)
    return scenario, sequence


async def play(
    client: AsyncTestClient[Litestar], make_user: MakeUser, scenario: str, sequence: list[int]
) -> dict[str, Any]:
    _, supporter, support = await back_project(client, make_user, amount_minor=AMOUNT)
    pi = (await confirm(client, supporter, support["support_id"]))["checkout"]["payment_intent_id"]
    token = uuid.uuid4().hex[:12]
    ids = {"pi": pi, "ch": f"ch_{token}", "dp": f"dp_{token}"}
    kinds = SCENARIOS[scenario][0]
    base = int(time.time()) + 2  # after the confirm
    for index in sequence:
        await deliver(client, build(kinds[index], ids, support["support_id"], base))
    read: dict[str, Any] = (await client.get(f"/v1/supports/{support['support_id']}", headers=supporter.headers)).json()
    return read


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
    assert await sql.fetchval("select coalesce(sum(amount_minor), 0) from journal_lines") == 0

    history = shuffled["history"]
    applied = [h for h in history if h["applied"]]
    for before, after in itertools.pairwise(applied):
        assert after["from_status"] == before["to_status"]
    assert applied[-1]["to_status"] == expected
    assert all(h["from_status"] == h["to_status"] for h in history if not h["applied"])
    distinct = len(set(sequence))
    assert sum(1 for h in history if h["source"] == "webhook") == distinct  # duplicates leave no trace
