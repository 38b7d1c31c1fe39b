"""Release (the worker step): a Stripe payout, the journal's `payout_release`, the server event and the
creator's notification, exactly once; never more than the creator is owed; nothing before the date."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime

import asyncpg
import stripe
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.db.engine import Database
from api.payments.gateway import PaymentGateway
from api.payouts.jobs import release_due
from tests.api.payouts.flows import (
    another_support,
    captured_support,
    dispute,
    later,
    payout_row,
    payouts_of,
    refund,
    stripe_payouts_for,
)
from tests.conftest import MakeUser


async def creator_payable(sql: asyncpg.Connection, project_id: str) -> int:
    value = await sql.fetchval(
        "select coalesce(sum(amount_minor), 0) from journal_lines where account_code = 'creator_payable' "
        "and project_id = $1",
        uuid.UUID(project_id),
    )
    return int(value)


async def test_a_due_payout_is_released_through_stripe_and_booked_once(
    client: AsyncTestClient[Litestar],
    make_user: MakeUser,
    sql: asyncpg.Connection,
    db: Database,
    gateway: PaymentGateway,
    stripe_client: stripe.StripeClient,
) -> None:
    first = await captured_support(client, make_user, 2_500)
    await another_support(client, make_user, first, 4_000)
    [scheduled] = await payouts_of(client, first.creator, first.project_id)

    assert await release_due(db, gateway, datetime.now(UTC), country="US") == 0  # executes on the next business day
    assert await release_due(db, gateway, later(), country="US") == 1

    [released] = await payouts_of(client, first.creator, first.project_id)
    assert released == {**scheduled, "status": "released"}
    row = await payout_row(sql, scheduled["payout_id"])
    [provider] = stripe_payouts_for(stripe_client, scheduled["payout_id"])
    assert (row["provider_payout_id"], row["amount_minor"], row["withheld_minor"]) == (provider.id, 6_500, 0)
    assert (provider.amount, provider.currency) == (6_500, "eur")

    lines = await sql.fetch(
        "select e.cause_key, e.project_id, e.provider_object_id, l.account_code, l.project_id as line_project, "
        "l.amount_minor from journal_entries e join journal_lines l using (entry_id) "
        "where e.entry_type = 'payout_release' and e.payout_id = $1 order by l.amount_minor",
        uuid.UUID(scheduled["payout_id"]),
    )
    assert [(r["account_code"], r["amount_minor"]) for r in lines] == [
        ("provider_balance", -6_500),
        ("creator_payable", 6_500),
    ]
    assert {r["cause_key"] for r in lines} == {f"payout_release:{scheduled['payout_id']}"}
    assert {r["provider_object_id"] for r in lines} == {provider.id}
    assert lines[1]["line_project"] == uuid.UUID(first.project_id)
    assert await creator_payable(sql, first.project_id) == 0  # everything owed was paid
    ops = make_user("ops")
    balances = (await client.get("/v1/journal/balances", headers=ops.headers)).json()
    assert balances["totals"] == [{"currency": "EUR", "total_minor": 0}]

    [landed] = await sql.fetch("select raw from event_landing where raw like '%\"payout_released\"%'")
    event = json.loads(landed["raw"])
    assert (event["user_id"], event["project_id"]) == (str(first.creator.user_id), first.project_id)
    assert event["properties"] == {"payout_id": scheduled["payout_id"], "amount_minor": 6_500, "currency": "EUR"}
    deliveries = await sql.fetch(
        "select d.channel, d.recipient_id from notification_events e join notification_deliveries d "
        "using (notification_event_id) where e.event_type = 'payout_released' order by d.channel"
    )
    assert [(d["channel"], d["recipient_id"]) for d in deliveries] == [
        ("email", first.creator.user_id),
        ("in_app", first.creator.user_id),
    ]

    assert await release_due(db, gateway, later(), country="US") == 0  # released payouts are never claimed again
    assert len(stripe_payouts_for(stripe_client, scheduled["payout_id"])) == 1


async def test_two_workers_at_once_release_each_payout_exactly_once(
    client: AsyncTestClient[Litestar],
    make_user: MakeUser,
    sql: asyncpg.Connection,
    database_url: str,
    gateway: PaymentGateway,
    stripe_client: stripe.StripeClient,
) -> None:
    for n in range(4):
        await captured_support(client, make_user, 2_500 + 100 * n)
    workers = [Database.connect(database_url, pool_size=2) for _ in range(2)]
    try:
        counts = await asyncio.gather(*(release_due(w, gateway, later(), country="US") for w in workers))
    finally:
        for worker in workers:
            await worker.dispose()

    assert sum(counts) == 4
    payout_ids = [str(r["payout_id"]) for r in await sql.fetch("select payout_id from project_payouts")]
    assert len(payout_ids) == 4
    for payout_id in payout_ids:
        assert len(stripe_payouts_for(stripe_client, payout_id)) == 1
    entries = await sql.fetch(
        "select payout_id, count(*) from journal_entries where entry_type = 'payout_release' group by 1"
    )
    assert sorted(str(e["payout_id"]) for e in entries) == sorted(payout_ids)
    assert {e["count"] for e in entries} == {1}
    assert await sql.fetchval("select count(*) from project_payouts where status = 'released'") == 4


async def test_a_release_never_sends_more_than_the_creator_is_owed(
    client: AsyncTestClient[Litestar],
    make_user: MakeUser,
    sql: asyncpg.Connection,
    db: Database,
    gateway: PaymentGateway,
    stripe_client: stripe.StripeClient,
) -> None:
    first = await captured_support(client, make_user, 2_500)
    assert await release_due(db, gateway, later(), country="US") == 1
    # Refunded after its payout left: the creator now owes 2,500, which the next payout withholds.
    await refund(client, first, 2_500)
    assert await creator_payable(sql, first.project_id) == 2_500

    second = await another_support(client, make_user, first, 4_000)
    payouts = await payouts_of(client, first.creator, first.project_id)
    assert [(p["status"], p["amount_minor"]) for p in payouts] == [("released", 2_500), ("scheduled", 4_000)]
    assert payouts[1]["execution_date"] > payouts[0]["execution_date"]  # the released date is closed
    assert await release_due(db, gateway, later(), country="US") == 1

    row = await payout_row(sql, payouts[1]["payout_id"])
    assert (row["status"], row["amount_minor"], row["withheld_minor"]) == ("released", 1_500, 2_500)
    [provider] = stripe_payouts_for(stripe_client, payouts[1]["payout_id"])
    assert provider.amount == 1_500
    assert await creator_payable(sql, first.project_id) == 0

    # The creator owes more than the next payout carries: it is closed at 0 without a provider call.
    await refund(client, second, 4_000)
    await another_support(client, make_user, first, 2_500)
    assert await creator_payable(sql, first.project_id) == 1_500
    assert await release_due(db, gateway, later(), country="US") == 0
    last = (await payouts_of(client, first.creator, first.project_id))[-1]
    assert (last["status"], last["amount_minor"], last["support_count"]) == ("paid", 0, 1)
    assert (await payout_row(sql, last["payout_id"]))["withheld_minor"] == 2_500
    assert stripe_payouts_for(stripe_client, last["payout_id"]) == []
    assert (
        await sql.fetchval("select count(*) from journal_entries where payout_id = $1", uuid.UUID(last["payout_id"]))
        == 0
    )
    assert await creator_payable(sql, first.project_id) == 1_500  # still owed by the creator: netted later
    assert await sql.fetchval("select coalesce(sum(amount_minor), 0) from journal_lines") == 0


async def test_money_back_after_a_release_goes_on_a_later_payout(
    client: AsyncTestClient[Litestar],
    make_user: MakeUser,
    sql: asyncpg.Connection,
    db: Database,
    gateway: PaymentGateway,
) -> None:
    first = await captured_support(client, make_user, 2_500)
    await another_support(client, make_user, first, 4_000)
    await dispute(client, first)
    assert await release_due(db, gateway, later(), country="US") == 1
    await dispute(client, first, "won")  # the disputed 2,500 is the creator's again

    payouts = await payouts_of(client, first.creator, first.project_id)
    assert [(p["status"], p["amount_minor"], p["support_count"]) for p in payouts] == [
        ("released", 4_000, 1),
        ("scheduled", 2_500, 1),
    ]
    assert payouts[1]["execution_date"] > payouts[0]["execution_date"]


async def test_a_cancellation_awaiting_its_refund_is_not_paid_out(
    client: AsyncTestClient[Litestar],
    make_user: MakeUser,
    sql: asyncpg.Connection,
    db: Database,
    gateway: PaymentGateway,
) -> None:
    support = await captured_support(client, make_user, 2_500)
    # What `cancel` records before Stripe's charge.refunded arrives (no webhook has synced it yet).
    await sql.execute(
        "update supports set cancel_requested_at = now(), status = 'refund_pending' where support_id = $1",
        uuid.UUID(support.support_id),
    )
    assert await release_due(db, gateway, later(), country="US") == 0
    assert await sql.fetchval("select count(*) from project_payouts") == 0
    assert await sql.fetchval("select count(*) from journal_entries where entry_type = 'payout_release'") == 0


async def test_a_payout_the_provider_refuses_stays_scheduled_and_unbooked(
    client: AsyncTestClient[Litestar],
    make_user: MakeUser,
    sql: asyncpg.Connection,
    db: Database,
    gateway: PaymentGateway,
) -> None:
    # localstripe pays out EUR only (its Payout asserts currency == 'eur'): a USD payout is refused.
    refused = await captured_support(client, make_user, 2_500, currency="USD")
    accepted = await captured_support(client, make_user, 2_500)

    assert await release_due(db, gateway, later(), country="US") == 1  # the refusal does not block the other payout

    [usd] = await payouts_of(client, refused.creator, refused.project_id)
    [eur] = await payouts_of(client, accepted.creator, accepted.project_id)
    assert (usd["status"], eur["status"]) == ("scheduled", "released")
    assert (
        await sql.fetchval(
            "select count(*) from journal_entries where entry_type = 'payout_release' and project_id = $1",
            uuid.UUID(refused.project_id),
        )
        == 0
    )
    assert await release_due(db, gateway, later(), country="US") == 0  # retried on every pass, still refused
