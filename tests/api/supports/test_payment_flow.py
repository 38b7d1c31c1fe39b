"""The support lifecycle end to end: localstripe's real signed webhook finalizes a payment; cancels,
refunds, failures and disputes arrive as signed Stripe events."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import stripe
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests import stripe_events as se
from tests.api.flows import assert_problem
from tests.api.supports.flows import back_project, confirm, deliver, pay_with_card, poll_until, succeeded_support
from tests.conftest import MakeUser


async def journal_by_type(sql: asyncpg.Connection, support_id: str) -> dict[str, int]:
    rows = await sql.fetch(
        "select e.entry_type, sum(l.amount_minor) filter (where l.account_code = 'provider_balance') as provider "
        "from journal_entries e join journal_lines l using (entry_id) where e.support_id = $1 group by e.entry_type",
        uuid.UUID(support_id),
    )
    return {r["entry_type"]: int(r["provider"] or 0) for r in rows}


async def test_paying_on_stripe_succeeds_only_through_the_webhook(
    client: AsyncTestClient[Litestar],
    make_user: MakeUser,
    stripe_client: stripe.StripeClient,
    stripe_webhooks_to_live_server: str,
    sql: asyncpg.Connection,
) -> None:
    _, supporter, support = await back_project(client, make_user)
    checkout = (await confirm(client, supporter, support["support_id"]))["checkout"]
    intent = pay_with_card(stripe_client, checkout["payment_intent_id"])
    assert intent.status == "succeeded"

    async with httpx.AsyncClient(base_url=stripe_webhooks_to_live_server, headers=supporter.headers) as app:

        async def read() -> dict[str, Any]:
            result: dict[str, Any] = (await app.get(f"/v1/supports/{support['support_id']}")).json()
            return result

        final = await poll_until(read, "succeeded")
    assert final["payment_intent_id"] == checkout["payment_intent_id"]
    assert "poll_after_ms" not in final
    assert final["cancellable_until"] > final["succeeded_at"]
    assert [h["to_status"] for h in final["history"] if h["applied"]] == ["prepared", "pending_payment", "succeeded"]
    assert final["history"][-1]["source"] == "webhook"

    assert await journal_by_type(sql, support["support_id"]) == {"support_hold": 2_500}
    landed = await sql.fetch("select raw from event_landing where raw like '%payment_succeeded%'")
    assert len(landed) == 1
    assert checkout["payment_intent_id"] in landed[0]["raw"]
    stored = await sql.fetchrow(
        "select outcome, handled_at from provider_events where event_type = 'payment_intent.succeeded'"
    )
    assert stored["outcome"] == "applied"
    assert stored["handled_at"] is not None


async def test_declined_card_fails_and_a_retry_returns_to_pending(
    client: AsyncTestClient[Litestar],
    make_user: MakeUser,
    stripe_client: stripe.StripeClient,
    stripe_webhooks_to_live_server: str,
) -> None:
    _, supporter, support = await back_project(client, make_user)
    checkout = (await confirm(client, supporter, support["support_id"]))["checkout"]
    declined = pay_with_card(stripe_client, checkout["payment_intent_id"], "pm_card_chargeCustomerFail")
    assert isinstance(declined, stripe.CardError)

    async with httpx.AsyncClient(base_url=stripe_webhooks_to_live_server, headers=supporter.headers) as app:

        async def read() -> dict[str, Any]:
            result: dict[str, Any] = (await app.get(f"/v1/supports/{support['support_id']}")).json()
            return result

        await poll_until(read, "failed")
    retried = await confirm(client, supporter, support["support_id"])
    assert retried["status"] == "pending_payment"
    assert retried["checkout"]["payment_intent_id"] == checkout["payment_intent_id"]


async def test_a_failure_orders_against_confirms_by_arrival_not_by_stripes_clock(
    client: AsyncTestClient[Litestar], make_user: MakeUser
) -> None:
    """A decline stamped long before the confirm (another clock, whole seconds) still fails the
    support; a retry in the same second as the decline's arrival is pending again."""
    _, supporter, support = await back_project(client, make_user)
    support_id = support["support_id"]
    pi = (await confirm(client, supporter, support_id))["checkout"]["payment_intent_id"]
    intent = se.payment_intent(
        pi, 2_500, "EUR", support_id, status="requires_payment_method", error_code="card_declined"
    )
    assert (await deliver(client, se.event("payment_intent.payment_failed", intent, created=1_700_000_000)))["received"]

    async def status() -> str:
        result: str = (await client.get(f"/v1/supports/{support_id}", headers=supporter.headers)).json()["status"]
        return result

    assert await status() == "failed"
    assert (await confirm(client, supporter, support_id))["status"] == "pending_payment"
    assert await status() == "pending_payment"


async def test_cancel_inside_the_window_refunds_through_stripe(
    client: AsyncTestClient[Litestar],
    make_user: MakeUser,
    stripe_client: stripe.StripeClient,
    stripe_webhooks_to_live_server: str,
    sql: asyncpg.Connection,
) -> None:
    supporter, support, pi, charge = await succeeded_support(client, make_user, paid_on=stripe_client)
    response = await client.post(f"/v1/supports/{support['support_id']}/cancel", headers=supporter.posting())
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "refund_pending"
    assert response.json()["poll_after_ms"] > 0
    refunds = stripe_client.v1.refunds.list(params={"payment_intent": pi})
    assert [r.to_dict()["metadata"]["support_id"] for r in refunds.data] == [support["support_id"]]

    refunded = se.charge(charge, pi, 2_500, "EUR", refunded=2_500, refund_id=refunds.data[0].id)
    await deliver(client, se.event("charge.refunded", refunded))
    read = (await client.get(f"/v1/supports/{support['support_id']}", headers=supporter.headers)).json()
    assert read["status"] == "refunded"
    assert await journal_by_type(sql, support["support_id"]) == {"support_hold": 2_500, "refund": -2_500}
    names = [r["raw"] for r in await sql.fetch("select raw from event_landing order by landing_id")]
    assert any('"support_canceled"' in n for n in names)
    assert any('"refund_issued"' in n for n in names)


async def test_cancel_rules(client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection) -> None:
    _, supporter, prepared = await back_project(client, make_user)
    response = await client.post(f"/v1/supports/{prepared['support_id']}/cancel", headers=supporter.posting())
    assert_problem(response, 409, "invalid_transition")

    supporter, support, _, _ = await succeeded_support(client, make_user)
    await sql.execute(
        "update supports set succeeded_at = now() - interval '49 hours' where support_id = $1",
        uuid.UUID(support["support_id"]),
    )
    response = await client.post(f"/v1/supports/{support['support_id']}/cancel", headers=supporter.posting())
    assert_problem(response, 409, "cancellation_window_closed")
    assert_problem(
        await client.post(f"/v1/supports/{support['support_id']}/cancel", headers=make_user().posting()),
        404,
        "not_found",
    )


async def test_lost_dispute_charges_back_and_books_the_uncovered_loss(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    supporter, support, pi, charge = await succeeded_support(client, make_user)
    # A partial refund first leaves the creator's payable short of the disputed amount.
    await deliver(client, se.event("charge.refunded", se.charge(charge, pi, 2_500, "EUR", refunded=1_000)))
    dp = "dp_" + uuid.uuid4().hex[:14]
    await deliver(client, se.event("charge.dispute.created", se.dispute(dp, charge, pi, 2_500, "EUR")))
    read = (await client.get(f"/v1/supports/{support['support_id']}", headers=supporter.headers)).json()
    assert read["status"] == "disputed"
    assert read["dispute_id"]

    await deliver(client, se.event("charge.dispute.closed", se.dispute(dp, charge, pi, 2_500, "EUR", status="lost")))
    read = (await client.get(f"/v1/supports/{support['support_id']}", headers=supporter.headers)).json()
    assert read["status"] == "charged_back"
    entries = await sql.fetch(
        "select e.entry_type, l.account_code, l.amount_minor "
        "from journal_entries e join journal_lines l using (entry_id) "
        "where e.support_id = $1 and e.entry_type in ('dispute_close', 'loss_booking') order by l.line_id",
        uuid.UUID(support["support_id"]),
    )
    assert [(e["entry_type"], e["account_code"], e["amount_minor"]) for e in entries] == [
        ("dispute_close", "creator_payable", 2_500),
        ("dispute_close", "disputed_funds", -2_500),
        ("loss_booking", "dispute_loss_expense", 1_000),
        ("loss_booking", "creator_payable", -1_000),
    ]
    payable = await sql.fetchval(
        "select sum(amount_minor) from journal_lines where account_code = 'creator_payable' and project_id = $1",
        uuid.UUID(support["project_id"]),
    )
    assert payable == 0


async def test_won_dispute_returns_to_succeeded(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    supporter, support, pi, charge = await succeeded_support(client, make_user)
    dp = "dp_" + uuid.uuid4().hex[:14]
    await deliver(client, se.event("charge.dispute.created", se.dispute(dp, charge, pi, 2_500, "EUR")))
    await deliver(client, se.event("charge.dispute.closed", se.dispute(dp, charge, pi, 2_500, "EUR", status="won")))
    read = (await client.get(f"/v1/supports/{support['support_id']}", headers=supporter.headers)).json()
    assert read["status"] == "succeeded"
    assert await journal_by_type(sql, support["support_id"]) == {
        "support_hold": 2_500,
        "dispute_open": -2_500,
        "dispute_close": 2_500,
    }
