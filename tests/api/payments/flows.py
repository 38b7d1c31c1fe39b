"""Helpers for webhook-order tests: a support's Stripe event scenarios, drawn shuffled and repeated, and played
against the API."""

from __future__ import annotations

import time
import uuid
from typing import Any

from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests import stripe_events as se
from tests.api.supports.flows import back_project, confirm, deliver
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


DISPUTE_FEE = 1_500
# The provider_fee entries each scenario ends with: the dispute's withdrawal, and its reversal when won.
FEES_BOOKED = {"dispute_lost": 1, "dispute_won": 2, "refund_then_lost": 1}


def build(kind: str, ids: dict[str, str], support_id: str, base: int) -> bytes:
    pi, ch, dp = ids["pi"], ids["ch"], ids["dp"]
    # A dispute carries its balance transactions, with the dispute fee (given back when won), as Stripe sends them.
    withdrawal = se.balance_transaction(
        f"txn_w_{dp}", dp, -AMOUNT, "EUR", category="dispute", fee=DISPUTE_FEE, created=base + 4
    )
    reversal = se.balance_transaction(
        f"txn_r_{dp}", dp, AMOUNT, "EUR", category="dispute_reversal", fee=-DISPUTE_FEE, created=base + 5
    )
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
            se.dispute(dp, ch, pi, AMOUNT, "EUR", created=base + 4, balance_transactions=[withdrawal]),
            base + 4,
        ),
        "dispute_lost": (
            "charge.dispute.closed",
            se.dispute(dp, ch, pi, AMOUNT, "EUR", status="lost", created=base + 4, balance_transactions=[withdrawal]),
            base + 5,
        ),
        "dispute_won": (
            "charge.dispute.closed",
            se.dispute(
                dp, ch, pi, AMOUNT, "EUR", status="won", created=base + 4, balance_transactions=[withdrawal, reversal]
            ),
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
