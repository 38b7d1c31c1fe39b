"""The journal: the database refuses unbalanced or edited entries; balances always total zero."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest
import stripe
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests import stripe_events as se
from tests.api.flows import assert_problem
from tests.api.supports.flows import back_project, confirm, deliver, succeeded_support
from tests.conftest import MakeUser


async def insert_entry(conn: asyncpg.Connection, lines: list[tuple[str, str, int]]) -> uuid.UUID:
    entry_id = uuid.uuid4()
    await conn.execute(
        "insert into journal_entries (entry_id, entry_type, cause_key, occurred_at) "
        "values ($1, 'support_hold', $2, now())",
        entry_id,
        f"test:{entry_id}",
    )
    for account, currency, amount in lines:
        await conn.execute(
            "insert into journal_lines (entry_id, account_code, currency, amount_minor) values ($1, $2, $3, $4)",
            entry_id,
            account,
            currency,
            amount,
        )
    return entry_id


async def test_the_database_rejects_an_unbalanced_entry(
    client: AsyncTestClient[Litestar], sql: asyncpg.Connection
) -> None:
    with pytest.raises(asyncpg.CheckViolationError, match="does not balance"):
        async with sql.transaction():
            await insert_entry(sql, [("provider_balance", "EUR", 100), ("creator_payable", "EUR", -99)])
    with pytest.raises(asyncpg.CheckViolationError, match="does not balance in EUR"):
        async with sql.transaction():  # balanced in total, not per currency
            await insert_entry(sql, [("provider_balance", "EUR", 100), ("creator_payable", "USD", -100)])
    with pytest.raises(asyncpg.CheckViolationError, match="fewer than two lines"):
        async with sql.transaction():
            await insert_entry(sql, [])
    assert await sql.fetchval("select count(*) from journal_entries") == 0


async def test_entries_are_immutable(client: AsyncTestClient[Litestar], sql: asyncpg.Connection) -> None:
    async with sql.transaction():
        entry_id = await insert_entry(sql, [("provider_balance", "EUR", 100), ("creator_payable", "EUR", -100)])
    for statement in (
        "update journal_lines set amount_minor = 1 where entry_id = $1",
        "delete from journal_lines where entry_id = $1",
        "update journal_entries set entry_type = 'refund' where entry_id = $1",
        "delete from journal_entries where entry_id = $1",
    ):
        with pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError, match="immutable"):
            await sql.execute(statement, entry_id)
    assert await sql.fetchval("select sum(amount_minor) from journal_lines where entry_id = $1", entry_id) == 0


async def test_journal_routes_are_ops_only_and_total_zero(
    client: AsyncTestClient[Litestar], make_user: MakeUser
) -> None:
    supporter, support, pi, charge = await succeeded_support(client, make_user)
    later = int(datetime.now(UTC).timestamp()) + 5
    await deliver(client, se.event("charge.refunded", se.charge(charge, pi, 2_500, "EUR", refunded=700), created=later))
    ops = make_user("ops")

    assert_problem(await client.get("/v1/journal/balances", headers=supporter.headers), 403, "forbidden")
    assert_problem(await client.get("/v1/journal/entries", headers=make_user("creator").headers), 403, "forbidden")

    balances = (await client.get("/v1/journal/balances", headers=ops.headers)).json()
    assert balances["totals"] == [{"currency": "EUR", "total_minor": 0}]
    by_account = {b["account_code"]: b["balance_minor"] for b in balances["balances"]}
    assert by_account == {"provider_balance": 1_800, "creator_payable": -1_800}

    page = (await client.get("/v1/journal/entries", params={"limit": 1}, headers=ops.headers)).json()
    assert [e["entry_type"] for e in page["items"]] == ["support_hold"]
    assert sum(line["amount_minor"] for line in page["items"][0]["lines"]) == 0
    rest = (await client.get("/v1/journal/entries", params={"cursor": page["next_cursor"]}, headers=ops.headers)).json()
    assert [e["entry_type"] for e in rest["items"]] == ["refund"]
    assert rest["next_cursor"] is None
    filtered = await client.get(
        "/v1/journal/entries", params={"entry_type": "refund", "project_id": support["project_id"]}, headers=ops.headers
    )
    assert [e["entry_type"] for e in filtered.json()["items"]] == ["refund"]


async def test_reconciliation_matches_stripe_and_explains_differences(
    client: AsyncTestClient[Litestar],
    make_user: MakeUser,
    local_stripe: str,
    stripe_client: stripe.StripeClient,
    stripe_webhooks_to_live_server: str,
) -> None:
    async with httpx.AsyncClient() as http:  # only this test's objects at the provider
        (await http.delete(f"{local_stripe}/_config/data")).raise_for_status()
    supporter, support, pi, charge = await succeeded_support(client, make_user, paid_on=stripe_client)
    cancelled = await client.post(f"/v1/supports/{support['support_id']}/cancel", headers=supporter.posting())
    assert cancelled.status_code == 200
    refund = stripe_client.v1.refunds.list(params={"payment_intent": pi}).data[0]
    await deliver(
        client, se.event("charge.refunded", se.charge(charge, pi, 2_500, "EUR", refunded=2_500, refund_id=refund.id))
    )

    ops = make_user("ops")
    today = datetime.now(UTC).date().isoformat()
    check = await client.post(
        "/v1/reconciliation/checks", json={"from_date": today, "to_date": today}, headers=ops.posting()
    )
    assert check.status_code == 201, check.text
    rows = {r["category"]: r for r in check.json()["results"]}
    assert set(rows) == {"charge", "refund"}
    assert (rows["charge"]["journal_minor"], rows["charge"]["provider_minor"], rows["charge"]["status"]) == (
        2_500,
        2_500,
        "matched",
    )
    assert (rows["refund"]["journal_minor"], rows["refund"]["provider_minor"], rows["refund"]["status"]) == (
        -2_500,
        -2_500,
        "matched",
    )
    assert check.json()["matched"] is True

    # A charge only the provider has, a capture only the journal has, and a dispute the provider never reported.
    _, stray, stray_support = await back_project(client, make_user, amount_minor=3_000)
    stray_pi = (await confirm(client, stray, stray_support["support_id"]))["checkout"]["payment_intent_id"]
    unknown = stripe_client.v1.payment_intents.create(
        params={"amount": 900, "currency": "eur", "payment_method": "pm_card_visa"}
    )
    stripe_client.v1.payment_intents.confirm(unknown.id)
    provider_only = [tx.id for tx in stripe_client.v1.balance_transactions.list().data if tx.amount == 900]
    await deliver(
        client,
        se.event(
            "payment_intent.succeeded",
            se.payment_intent(stray_pi, 3_000, "EUR", stray_support["support_id"], charge="ch_journal_only"),
        ),
    )
    await deliver(client, se.event("charge.dispute.created", se.dispute("dp_journal_only", charge, pi, 2_500, "EUR")))

    check = await client.post(
        "/v1/reconciliation/checks", json={"from_date": today, "to_date": today}, headers=ops.posting()
    )
    rows = {r["category"]: r for r in check.json()["results"]}
    assert rows["charge"]["status"] == "mismatch"
    assert rows["charge"]["difference_minor"] == 3_000 - 900
    assert rows["charge"]["provider_transaction_ids"] == provider_only
    journal_only = await client.get("/v1/journal/entries", params={"entry_type": "support_hold"}, headers=ops.headers)
    expected_entry = [
        e["entry_id"] for e in journal_only.json()["items"] if e["provider_object_id"] == "ch_journal_only"
    ]
    assert rows["charge"]["journal_entry_ids"] == expected_entry
    assert rows["dispute"]["status"] == "missing_in_provider"
    assert rows["dispute"]["journal_minor"] == -2_500
    assert check.json()["matched"] is False

    fetched = await client.get(f"/v1/reconciliation/checks/{check.json()['check_id']}", headers=ops.headers)
    assert fetched.json() == check.json()
    await asyncio.sleep(1.5)  # let the emulator's webhook for the stray charge land before tables are emptied


async def test_reconciliation_rejects_bad_ranges(client: AsyncTestClient[Litestar], make_user: MakeUser) -> None:
    ops = make_user("ops")
    for body in (
        {"from_date": "2026-02-01", "to_date": "2026-01-01"},
        {"from_date": "2025-01-01", "to_date": "2026-01-01"},
    ):
        assert_problem(
            await client.post("/v1/reconciliation/checks", json=body, headers=ops.posting()), 422, "validation_failed"
        )
    assert_problem(
        await client.get(f"/v1/reconciliation/checks/{uuid.uuid4()}", headers=ops.headers),
        404,
        "not_found",
    )
