"""`payout.paid` / `payout.failed`: matched by the Stripe payout id (or metadata), idempotent, the same
final status whatever the delivery order, ops and the creator told of a failure."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import asyncpg
import pytest
import stripe
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.db.engine import Database
from api.payments.gateway import PaymentGateway
from api.payouts.jobs import release_due
from tests.api.payouts.flows import (
    captured_support,
    later,
    payout_event,
    payout_object,
    payout_row,
    payouts_of,
    stripe_payouts_for,
)
from tests.api.supports.flows import deliver
from tests.conftest import MakeUser


async def released(
    client: AsyncTestClient[Litestar],
    make_user: MakeUser,
    db: Database,
    gateway: PaymentGateway,
    sql: asyncpg.Connection,
) -> tuple[str, str]:
    """A released 2,500 EUR payout; (payout_id, Stripe payout id)."""
    support = await captured_support(client, make_user, 2_500)
    assert await release_due(db, gateway, later(), country="US") == 1
    [payout] = await payouts_of(client, support.creator, support.project_id)
    return payout["payout_id"], (await payout_row(sql, payout["payout_id"]))["provider_payout_id"]


async def failure_notifications(sql: asyncpg.Connection) -> list[tuple[str, uuid.UUID | None]]:
    rows = await sql.fetch(
        "select d.channel, d.recipient_id from notification_events e join notification_deliveries d "
        "using (notification_event_id) where e.event_type = 'payout_failed' order by d.channel"
    )
    return [(r["channel"], r["recipient_id"]) for r in rows]


async def test_paid_settles_a_released_payout_once(
    client: AsyncTestClient[Litestar],
    make_user: MakeUser,
    db: Database,
    gateway: PaymentGateway,
    sql: asyncpg.Connection,
) -> None:
    payout_id, po = await released(client, make_user, db, gateway, sql)
    event = payout_event("payout.paid", payout_object(po, 2_500))

    assert (await deliver(client, event))["outcome"] == "applied"
    assert await deliver(client, event) == {"received": True, "duplicate": True}
    again = payout_event("payout.paid", payout_object(po, 2_500))  # a second event with the same news
    assert (await deliver(client, again))["outcome"] == "not_applied"

    row = await payout_row(sql, payout_id)
    assert (row["status"], row["failed_at"]) == ("paid", None)
    assert row["paid_at"] is not None
    assert await failure_notifications(sql) == []


async def test_failed_notifies_the_creator_and_ops_once(
    client: AsyncTestClient[Litestar],
    make_user: MakeUser,
    db: Database,
    gateway: PaymentGateway,
    sql: asyncpg.Connection,
) -> None:
    payout_id, po = await released(client, make_user, db, gateway, sql)
    creator = await sql.fetchval(
        "select creator_id from projects join project_payouts using (project_id) where payout_id = $1",
        uuid.UUID(payout_id),
    )
    failed = payout_object(po, 2_500, status="failed", failure_code="account_closed")

    assert (await deliver(client, payout_event("payout.failed", failed)))["outcome"] == "applied"
    assert (await deliver(client, payout_event("payout.failed", failed)))["outcome"] == "not_applied"

    row = await payout_row(sql, payout_id)
    assert (row["status"], row["failure_code"]) == ("failed", "account_closed")
    assert await failure_notifications(sql) == [("email", creator), ("ops", None)]


@pytest.mark.parametrize("failed_first", [False, True])
async def test_paid_then_failed_ends_failed_whatever_the_delivery_order(
    client: AsyncTestClient[Litestar],
    make_user: MakeUser,
    db: Database,
    gateway: PaymentGateway,
    sql: asyncpg.Connection,
    failed_first: bool,
) -> None:
    payout_id, po = await released(client, make_user, db, gateway, sql)
    now = int(time.time())
    # Stripe's own sequence: paid on the arrival date, failed days later when the bank returns it.
    paid = payout_event("payout.paid", payout_object(po, 2_500), created=now)
    failed = payout_event(
        "payout.failed", payout_object(po, 2_500, status="failed", failure_code="could_not_process"), created=now + 60
    )
    first, second = (failed, paid) if failed_first else (paid, failed)

    await deliver(client, first)
    outcome = (await deliver(client, second))["outcome"]

    assert outcome == ("not_applied" if failed_first else "applied")
    row = await payout_row(sql, payout_id)
    assert (row["status"], row["failure_code"]) == ("failed", "could_not_process")
    assert row["paid_at"] is not None
    assert len(await failure_notifications(sql)) == 2  # one event: creator email + ops


async def test_an_unknown_or_mismatched_payout_changes_nothing(
    client: AsyncTestClient[Litestar],
    make_user: MakeUser,
    db: Database,
    gateway: PaymentGateway,
    sql: asyncpg.Connection,
) -> None:
    payout_id, po = await released(client, make_user, db, gateway, sql)

    unknown = payout_object("po_unknown_" + uuid.uuid4().hex[:8], 2_500)
    assert (await deliver(client, payout_event("payout.paid", unknown)))["outcome"] == "unmatched"
    # metadata names our payout, but the provider payout is another one than we sent
    other = payout_object("po_other_" + uuid.uuid4().hex[:8], 2_500, payout_id=payout_id)
    assert (await deliver(client, payout_event("payout.paid", other)))["outcome"] == "unmatched"
    wrong_amount = payout_object(po, 9_999)
    assert (await deliver(client, payout_event("payout.paid", wrong_amount)))["outcome"] == "flagged"

    assert (await payout_row(sql, payout_id))["status"] == "released"
    stored = await sql.fetch("select outcome from provider_events where event_type = 'payout.paid' order by created")
    assert sorted(r["outcome"] for r in stored) == ["flagged", "unmatched", "unmatched"]


async def test_stripes_own_webhook_for_a_payout_whose_release_did_not_commit(
    client: AsyncTestClient[Litestar],
    make_user: MakeUser,
    db: Database,
    gateway: PaymentGateway,
    sql: asyncpg.Connection,
    stripe_client: stripe.StripeClient,
    stripe_webhooks_to_live_server: str,
) -> None:
    """A release that reached Stripe but whose transaction was lost: Stripe's payout.paid (metadata)
    links the payout, and the next release books it without sending a second payout."""
    support = await captured_support(client, make_user, 2_500)
    [payout] = await payouts_of(client, support.creator, support.project_id)
    params: dict[str, Any] = {
        "amount": 2_500,
        "currency": "eur",
        "metadata": {"payout_id": payout["payout_id"]},
        "status": "paid",  # localstripe then emits its real payout.paid webhook
    }
    provider = stripe_client.v1.payouts.create(params=params)  # type: ignore[arg-type]

    deadline = time.monotonic() + 15
    while (row := await payout_row(sql, payout["payout_id"]))["provider_payout_id"] is None:
        assert time.monotonic() < deadline, "localstripe's payout.paid did not arrive"
        await asyncio.sleep(0.2)
    assert (row["provider_payout_id"], row["status"]) == (provider.id, "scheduled")  # not released by us yet
    handled = await sql.fetchval(
        "select outcome from provider_events where object_id = $1 and event_type = 'payout.paid'", provider.id
    )
    assert handled == "not_applied"

    assert await release_due(db, gateway, later(), country="US") == 1
    row = await payout_row(sql, payout["payout_id"])
    assert (row["status"], row["amount_minor"]) == ("paid", 2_500)
    assert [p.id for p in stripe_payouts_for(stripe_client, payout["payout_id"])] == [provider.id]
    assert (
        await sql.fetchval(
            "select provider_object_id from journal_entries where entry_type = 'payout_release' and payout_id = $1",
            uuid.UUID(payout["payout_id"]),
        )
        == provider.id
    )
