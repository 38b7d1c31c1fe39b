"""The provider's fees in the journal: each balance transaction's fee is booked once, as a `provider_fee` entry
against `provider_balance`, so the journal's provider balance is the provider's net balance; nothing booked
before changes, and a fee is booked by whichever comes second, the transaction or the journal's entry for its
charge, refund or dispute (the worker's listing, a webhook)."""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
import stripe
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.db import migrate
from api.db.engine import Database
from api.journal import services as journal
from api.journal.jobs import sync_provider_fees
from api.payments.gateway import BalanceTransaction, PaymentGateway
from api.settings import Settings
from devtools.local_stripe_accounting import DISPUTE_FEE_MINOR, processing_fee
from tests import stripe_events as se
from tests.api.supports.flows import back_project, confirm, deliver, poll_until, succeeded_support
from tests.conftest import MakeUser, _dsn, recreate_database


@pytest.fixture
async def empty_provider(local_stripe: str) -> str:
    """The emulator without other tests' objects: its whole balance is this test's."""
    async with httpx.AsyncClient() as http:
        (await http.delete(f"{local_stripe}/_config/data")).raise_for_status()
    return local_stripe


async def balances(sql: asyncpg.Connection) -> dict[str, int]:
    rows = await sql.fetch("select account_code, sum(amount_minor) as total from journal_lines group by account_code")
    return {r["account_code"]: int(r["total"]) for r in rows}


async def provider_transactions(settings: Settings) -> list[BalanceTransaction]:
    now = datetime.now(UTC)
    return await PaymentGateway(settings.stripe).balance_transactions(now - timedelta(days=1), now + timedelta(days=1))


async def fee_entries(sql: asyncpg.Connection) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await sql.fetch(
        "select e.entry_id, e.cause_key, e.provider_object_id, e.provider_transaction_id, e.support_id, e.occurred_at, "
        "l.amount_minor as fee from journal_entries e join journal_lines l using (entry_id) "
        "where e.entry_type = 'provider_fee' and l.account_code = 'provider_fee' order by e.occurred_at, e.cause_key"
    )
    return rows


async def test_the_worker_books_each_charge_fee_once_and_the_provider_balance_is_the_provider_net(
    client: AsyncTestClient[Litestar],
    make_user: MakeUser,
    db: Database,
    settings: Settings,
    empty_provider: str,
    stripe_client: stripe.StripeClient,
    stripe_webhooks_to_live_server: str,
    sql: asyncpg.Connection,
) -> None:
    _, _, _, first_charge = await succeeded_support(client, make_user, 2_500, paid_on=stripe_client)
    _, _, _, second_charge = await succeeded_support(client, make_user, 3_000, paid_on=stripe_client)
    gross = await balances(sql)
    assert gross["provider_balance"] == 5_500
    assert "provider_fee" not in gross

    assert await sync_provider_fees(db, PaymentGateway(settings.stripe), datetime.now(UTC)) == 2

    transactions = await provider_transactions(settings)
    assert {t.source: t.fee_minor for t in transactions} == {
        first_charge: processing_fee(2_500),
        second_charge: processing_fee(3_000),
    }
    booked = await balances(sql)
    assert booked["provider_balance"] == sum(t.net_minor for t in transactions) == 5_500 - 103 - 117
    assert booked["provider_fee"] == sum(t.fee_minor for t in transactions)
    assert sum(booked.values()) == 0
    assert booked["creator_payable"] == gross["creator_payable"]  # the creators are paid without the fee
    fees = await fee_entries(sql)
    by_transaction = {t.transaction_id: t for t in transactions}
    assert {(f["provider_transaction_id"], f["provider_object_id"], f["fee"]) for f in fees} == {
        (t.transaction_id, t.source, t.fee_minor) for t in transactions
    }
    for fee in fees:
        assert fee["cause_key"] == f"provider_fee:{fee['provider_transaction_id']}"
        assert fee["occurred_at"] == by_transaction[fee["provider_transaction_id"]].created  # the provider's day
        assert fee["support_id"] is not None

    entries = await sql.fetchval("select count(*) from journal_entries")
    assert await sync_provider_fees(db, PaymentGateway(settings.stripe), datetime.now(UTC)) == 0
    assert await sql.fetchval("select count(*) from journal_entries") == entries
    assert await balances(sql) == booked

    # Finance lists the fee entries through the API like any other entry type.
    ops = make_user("ops")
    listed = await client.get("/v1/journal/entries?entry_type=provider_fee", headers=ops.headers)
    assert listed.status_code == 200, listed.text
    assert {entry["entry_type"] for entry in listed.json()["items"]} == {"provider_fee"}
    assert len(listed.json()["items"]) == len(fees)

    # The reconciliation check compares gross amounts, as api.md defines it: fees do not disturb it.
    today = datetime.now(UTC).date().isoformat()
    check = await client.post(
        "/v1/reconciliation/checks", json={"from_date": today, "to_date": today}, headers=ops.posting()
    )
    assert check.status_code == 201, check.text
    assert [(r["category"], r["journal_minor"], r["status"]) for r in check.json()["results"]] == [
        ("charge", 5_500, "matched")
    ]


async def test_a_dispute_s_fee_comes_with_its_webhook_once_and_a_won_dispute_gives_it_back(
    client: AsyncTestClient[Litestar],
    make_user: MakeUser,
    db: Database,
    settings: Settings,
    empty_provider: str,
    stripe_client: stripe.StripeClient,
    stripe_webhooks_to_live_server: str,
    sql: asyncpg.Connection,
) -> None:
    supporter, support, _, charge = await succeeded_support(client, make_user, 2_500, paid_on=stripe_client)
    async with httpx.AsyncClient(base_url=empty_provider) as provider:
        opened = await provider.post(f"/_config/charges/{charge}/dispute", data={"reason": "fraudulent"})
        opened.raise_for_status()
        dispute = opened.json()

        async def read() -> dict[str, Any]:
            path = f"/v1/supports/{support['support_id']}"
            body: dict[str, Any] = (await client.get(path, headers=supporter.headers)).json()
            return body

        await poll_until(read, "disputed")  # the provider's own signed webhook
        # The dispute's webhook carried its balance transaction: the fee is booked with it, before any listing.
        assert [(f["provider_object_id"], f["fee"]) for f in await fee_entries(sql)] == [
            (dispute["id"], DISPUTE_FEE_MINOR)
        ]
        entries = await sql.fetchval("select count(*) from journal_entries")

        stored = await sql.fetchval(
            "select raw_payload from provider_events where event_type = 'charge.dispute.created'"
        )
        assert (await deliver(client, stored.encode()))["duplicate"] is True  # Stripe's redelivery
        again = await deliver(client, se.event("charge.dispute.created", dispute))  # another event, same dispute
        assert again["duplicate"] is False
        assert await sql.fetchval("select count(*) from journal_entries") == entries  # nothing booked twice

        (await provider.post(f"/_config/disputes/{dispute['id']}/close", data={"status": "won"})).raise_for_status()
        await poll_until(read, "succeeded")

    fees = [(f["provider_object_id"], f["fee"]) for f in await fee_entries(sql)]
    assert fees == [(dispute["id"], DISPUTE_FEE_MINOR), (dispute["id"], -DISPUTE_FEE_MINOR)]
    assert await sync_provider_fees(db, PaymentGateway(settings.stripe), datetime.now(UTC)) == 1  # the charge's

    transactions = await provider_transactions(settings)
    assert sorted(t.reporting_category for t in transactions) == ["charge", "dispute", "dispute_reversal"]
    booked = await balances(sql)
    assert booked["provider_balance"] == sum(t.net_minor for t in transactions) == 2_500 - processing_fee(2_500)
    assert booked["provider_fee"] == processing_fee(2_500)
    assert booked["disputed_funds"] == 0
    assert sum(booked.values()) == 0


async def test_a_payment_dated_days_back_after_the_listing_moved_on_still_gets_its_fee(
    client: AsyncTestClient[Litestar],
    make_user: MakeUser,
    db: Database,
    settings: Settings,
    empty_provider: str,
    stripe_client: stripe.StripeClient,
    stripe_webhooks_to_live_server: str,
    sql: asyncpg.Connection,
) -> None:
    """The listing resumes an hour before the newest transaction it kept. A payment the provider took two days ago
    whose webhook comes only now is booked on its day (`Webhook.paid_at`), behind that mark: the listing reaches
    back to it, and its fee is booked."""
    gateway = PaymentGateway(settings.stripe)
    await succeeded_support(client, make_user, 2_500, paid_on=stripe_client)
    assert await sync_provider_fees(db, gateway, datetime.now(UTC)) == 1  # the listing's mark is now

    async with httpx.AsyncClient() as http:  # the provider's test clock: what it creates is dated two days back
        (await http.post(f"{empty_provider}/_config/clock", json={"offset_seconds": -2 * 86_400})).raise_for_status()
        try:
            _, _, _, late_charge = await succeeded_support(client, make_user, 3_000, paid_on=stripe_client)
        finally:
            (await http.post(f"{empty_provider}/_config/clock", json={"offset_seconds": 0})).raise_for_status()
    booked_on = await sql.fetchval(
        "select occurred_at from journal_entries where entry_type = 'support_hold' and provider_object_id = $1",
        late_charge,
    )
    assert booked_on < datetime.now(UTC) - timedelta(days=1)

    assert await sync_provider_fees(db, gateway, datetime.now(UTC)) == 1
    fees = {f["provider_object_id"]: f for f in await fee_entries(sql)}
    assert fees[late_charge]["fee"] == processing_fee(3_000)
    assert fees[late_charge]["occurred_at"].date() == booked_on.date()
    assert (await balances(sql))["provider_balance"] == 5_500 - processing_fee(2_500) - processing_fee(3_000)


async def test_a_transaction_seen_before_its_charge_is_booked_by_the_charge_s_webhook(
    client: AsyncTestClient[Litestar], make_user: MakeUser, db: Database, sql: asyncpg.Connection
) -> None:
    _, supporter, support = await back_project(client, make_user, amount_minor=4_000)
    pi = (await confirm(client, supporter, support["support_id"]))["checkout"]["payment_intent_id"]
    charge = "ch_" + uuid.uuid4().hex[:14]
    created = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
    early = BalanceTransaction("txn_" + uuid.uuid4().hex[:14], 4_000, "EUR", "charge", charge, created, fee_minor=146)
    stray = BalanceTransaction(
        "txn_" + uuid.uuid4().hex[:14], 900, "EUR", "charge", "ch_unknown", created, fee_minor=56
    )
    async with db.transaction() as session:  # as the worker's listing keeps them, before the webhook
        assert await journal.book_provider_fees(session, [early, stray]) == 0
    assert await fee_entries(sql) == []
    assert await sql.fetchval("select count(*) from provider_balance_transactions") == 2

    intent = se.payment_intent(pi, 4_000, "EUR", support["support_id"], charge=charge)
    succeeded = se.event("payment_intent.succeeded", intent)
    assert (await deliver(client, succeeded))["outcome"] == "applied"
    assert [(f["provider_transaction_id"], f["fee"], f["occurred_at"]) for f in await fee_entries(sql)] == [
        (early.transaction_id, 146, created)
    ]
    assert (await deliver(client, succeeded))["duplicate"] is True
    async with db.transaction() as session:  # listed again: kept once, booked once
        assert await journal.book_provider_fees(session, [early, stray]) == 0
    assert len(await fee_entries(sql)) == 1
    assert (await balances(sql))["provider_balance"] == 4_000 - 146


async def test_the_migration_cannot_go_back_once_a_fee_is_booked(admin_url: str, worker_id: str) -> None:
    prefix = os.environ.get("PATRONAGE_TEST_DB_PREFIX", "patronage_test")
    url = await recreate_database(admin_url, f"{prefix}_fees_migration_{worker_id}")
    await asyncio.to_thread(migrate.upgrade, url)
    conn = await asyncpg.connect(_dsn(url))
    try:
        async with conn.transaction():
            entry = uuid.uuid4()
            await conn.execute(
                "insert into journal_entries (entry_id, entry_type, cause_key, occurred_at) "
                "values ($1, 'provider_fee', 'provider_fee:txn_1', now())",
                entry,
            )
            await conn.executemany(
                "insert into journal_lines (entry_id, account_code, currency, amount_minor) values ($1, $2, 'EUR', $3)",
                [(entry, "provider_fee", 103), (entry, "provider_balance", -103)],
            )
    finally:
        await conn.close()
    with pytest.raises(RuntimeError, match="1 provider_fee journal entries are booked"):
        await asyncio.to_thread(migrate.downgrade, url, "2026_12_06_0010")
    assert "2026_12_06_0011" in await asyncio.to_thread(migrate.current, url)
