"""Helpers for payout tests: captured supports on one project, the payout list, Stripe payout events."""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import stripe
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests import stripe_events as se
from tests.api.supports.flows import back_project, confirm, deliver
from tests.conftest import MakeUser, User

# Far enough ahead that every payout scheduled today is due (a long holiday weekend included).
LATER = timedelta(days=10)


def later() -> datetime:
    return datetime.now(UTC) + LATER


@dataclass
class Captured:
    creator: User
    supporter: User
    project_id: str
    tier_id: str
    support_id: str
    amount: int
    pi: str
    charge: str


async def capture(
    client: AsyncTestClient[Litestar], supporter: User, support_id: str, amount: int, currency: str = "EUR"
) -> tuple[str, str]:
    """Confirm, then finalize with a signed `payment_intent.succeeded`; (payment intent, charge)."""
    pi = (await confirm(client, supporter, support_id))["checkout"]["payment_intent_id"]
    charge = "ch_" + uuid.uuid4().hex[:14]
    receipt = await deliver(
        client,
        se.event("payment_intent.succeeded", se.payment_intent(pi, amount, currency, support_id, charge=charge)),
    )
    assert receipt["outcome"] == "applied"
    return pi, charge


async def captured_support(
    client: AsyncTestClient[Litestar], make_user: MakeUser, amount: int = 2_500, *, currency: str = "EUR"
) -> Captured:
    """A new creator's project with one captured support."""
    creator, supporter, support = await back_project(client, make_user, amount_minor=amount, currency=currency)
    pi, charge = await capture(client, supporter, support["support_id"], amount, currency)
    return Captured(
        creator, supporter, support["project_id"], support["tier_id"], support["support_id"], amount, pi, charge
    )


async def another_support(
    client: AsyncTestClient[Litestar], make_user: MakeUser, first: Captured, amount: int
) -> Captured:
    """A second supporter's captured support on the same project."""
    supporter = make_user("supporter")
    response = await client.post(
        f"/v1/projects/{first.project_id}/supports/prepare",
        json={"tier_id": first.tier_id, "amount_minor": amount, "currency": "EUR"},
        headers=supporter.posting(),
    )
    assert response.status_code == 201, response.text
    support_id = response.json()["support_id"]
    pi, charge = await capture(client, supporter, support_id, amount)
    return Captured(first.creator, supporter, first.project_id, first.tier_id, support_id, amount, pi, charge)


async def refund(client: AsyncTestClient[Litestar], support: Captured, refunded_total: int) -> dict[str, Any]:
    obj = se.charge(support.charge, support.pi, support.amount, "EUR", refunded=refunded_total, refund_id="re_x")
    return await deliver(client, se.event("charge.refunded", obj))


async def dispute(client: AsyncTestClient[Litestar], support: Captured, status: str = "needs_response") -> None:
    dp = "dp_" + support.charge.removeprefix("ch_")
    obj = se.dispute(dp, support.charge, support.pi, support.amount, "EUR", status=status)
    kind = "charge.dispute.created" if status == "needs_response" else "charge.dispute.closed"
    assert (await deliver(client, se.event(kind, obj)))["outcome"] == "applied"


async def payouts_of(client: AsyncTestClient[Litestar], user: User, project_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/v1/projects/{project_id}/payouts", headers=user.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["next_cursor"] is None
    items: list[dict[str, Any]] = body["items"]
    return items


async def items_of(sql: asyncpg.Connection, project_id: str) -> dict[str, int]:
    """support_id → amount of its items on the project's payouts."""
    rows = await sql.fetch(
        "select i.support_id, sum(i.amount_minor) as amount from payout_items i "
        "join project_payouts p using (payout_id) where p.project_id = $1 group by i.support_id",
        uuid.UUID(project_id),
    )
    return {str(r["support_id"]): int(r["amount"]) for r in rows}


async def payout_row(sql: asyncpg.Connection, payout_id: str) -> asyncpg.Record:
    row: asyncpg.Record = await sql.fetchrow("select * from project_payouts where payout_id = $1", uuid.UUID(payout_id))
    return row


def stripe_payouts_for(stripe_client: stripe.StripeClient, payout_id: str) -> list[Any]:
    """The provider payouts carrying our payout id (localstripe keeps every test's payouts)."""
    listed = stripe_client.v1.payouts.list(params={"limit": 100})
    return [p for p in listed.auto_paging_iter() if p.to_dict().get("metadata", {}).get("payout_id") == payout_id]


def payout_object(
    provider_payout_id: str,
    amount: int,
    currency: str = "EUR",
    *,
    status: str = "paid",
    payout_id: str | None = None,
    failure_code: str | None = None,
) -> dict[str, Any]:
    """A Stripe Payout object with the fields our handlers read."""
    return {
        "id": provider_payout_id,
        "object": "payout",
        "amount": amount,
        "currency": currency.lower(),
        "arrival_date": int(time.time()) + 2 * 86400,
        "automatic": False,
        "status": status,
        "failure_code": failure_code,
        "failure_message": "The bank could not process this payout." if failure_code else None,
        "metadata": {"payout_id": payout_id} if payout_id else {},
    }


def payout_event(event_type: str, obj: dict[str, Any], *, created: int | None = None) -> bytes:
    return se.event(event_type, obj, event_id="evt_" + secrets.token_hex(12), created=created)
