"""Scheduling: a captured support joins its project's payout; refunds and disputes before release
reduce it; the list creates what is missing; only the project's creator and ops may read it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import stripe
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.payouts import calendar
from tests.api.flows import assert_problem
from tests.api.payouts.flows import (
    another_support,
    captured_support,
    dispute,
    items_of,
    payouts_of,
    refund,
)
from tests.api.supports.flows import back_project, confirm, pay_with_card, poll_until
from tests.conftest import MakeUser


def expected_dates(succeeded_at: str | datetime) -> tuple[str, str]:
    moment = datetime.fromisoformat(succeeded_at) if isinstance(succeeded_at, str) else succeeded_at
    execution = calendar.execution_date(moment, "US")
    return execution.isoformat(), calendar.settlement_target_date(execution, "US").isoformat()


async def test_a_real_payment_schedules_a_payout_on_the_next_business_day(
    client: AsyncTestClient[Litestar],
    make_user: MakeUser,
    stripe_client: stripe.StripeClient,
    stripe_webhooks_to_live_server: str,
    sql: asyncpg.Connection,
) -> None:
    creator, supporter, support = await back_project(client, make_user, amount_minor=3_100)
    checkout = (await confirm(client, supporter, support["support_id"]))["checkout"]
    assert pay_with_card(stripe_client, checkout["payment_intent_id"]).status == "succeeded"

    async def read() -> dict[str, Any]:
        result: dict[str, Any] = (
            await client.get(f"/v1/supports/{support['support_id']}", headers=supporter.headers)
        ).json()
        return result

    final = await poll_until(read, "succeeded")
    # localstripe's own webhook scheduled it: the item exists before anyone reads the list.
    assert await items_of(sql, support["project_id"]) == {support["support_id"]: 3_100}

    [payout] = await payouts_of(client, creator, support["project_id"])
    execution, settlement = expected_dates(final["succeeded_at"])
    assert payout == {
        "payout_id": payout["payout_id"],
        "status": "scheduled",
        "currency": "EUR",
        "amount_minor": 3_100,
        "execution_date": execution,
        "settlement_target_date": settlement,
        "reserve_minor": 0,
        "reserve_policy": "disabled",
        "support_count": 1,
    }
    assert execution > datetime.fromisoformat(final["succeeded_at"]).astimezone(UTC).date().isoformat()


async def test_refunds_and_disputes_before_release_reduce_the_payout(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    first = await captured_support(client, make_user, 2_500)
    second = await another_support(client, make_user, first, 4_000)

    async def payout() -> tuple[str, int, int]:
        [only] = await payouts_of(client, first.creator, first.project_id)
        return only["payout_id"], only["amount_minor"], only["support_count"]

    payout_id, amount, count = await payout()
    assert (amount, count) == (6_500, 2)

    await refund(client, second, 1_000)
    assert await payout() == (payout_id, 5_500, 2)
    await refund(client, second, 1_000)  # the same refund again: nothing changes
    assert await payout() == (payout_id, 5_500, 2)

    await dispute(client, first)  # open: the disputed money is not the creator's to receive yet
    assert await payout() == (payout_id, 3_000, 1)
    await dispute(client, first, "won")
    assert await payout() == (payout_id, 5_500, 2)

    await refund(client, second, 4_000)
    assert await payout() == (payout_id, 2_500, 1)
    assert await items_of(sql, first.project_id) == {first.support_id: 2_500}


async def test_a_payout_taken_back_entirely_is_no_longer_listed_and_returns_with_the_money(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    support = await captured_support(client, make_user, 2_500)
    [before] = await payouts_of(client, support.creator, support.project_id)

    await dispute(client, support)
    assert await payouts_of(client, support.creator, support.project_id) == []
    assert await items_of(sql, support.project_id) == {}  # the payout row stays, empty, until released

    await dispute(client, support, "won")
    [after] = await payouts_of(client, support.creator, support.project_id)
    assert (after["amount_minor"], after["execution_date"]) == (2_500, before["execution_date"])

    await refund(client, support, 2_500)
    assert await payouts_of(client, support.creator, support.project_id) == []


async def test_the_list_schedules_captured_supports_that_have_no_payout_yet(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    first = await captured_support(client, make_user, 2_500)
    second = await another_support(client, make_user, first, 4_000)
    fully_refunded = await another_support(client, make_user, first, 2_600)
    await refund(client, fully_refunded, 2_600)
    # As if they had been captured before payouts existed, the first two weeks ago.
    two_weeks_ago = datetime.now(UTC) - timedelta(days=14)
    await sql.execute("delete from payout_items")
    await sql.execute("delete from project_payouts")
    await sql.execute(
        "update supports set succeeded_at = $2 where support_id = $1", uuid.UUID(first.support_id), two_weeks_ago
    )
    second_succeeded = await sql.fetchval(
        "select succeeded_at from supports where support_id = $1", uuid.UUID(second.support_id)
    )

    payouts = await payouts_of(client, first.creator, first.project_id)
    assert [
        (p["execution_date"], p["settlement_target_date"], p["amount_minor"], p["support_count"]) for p in payouts
    ] == [
        (*expected_dates(two_weeks_ago), 2_500, 1),
        (*expected_dates(second_succeeded), 4_000, 1),
    ]
    assert {p["status"] for p in payouts} == {"scheduled"}
    assert await payouts_of(client, first.creator, first.project_id) == payouts  # created once
    assert await items_of(sql, first.project_id) == {first.support_id: 2_500, second.support_id: 4_000}

    ops = make_user("ops")
    page = (await client.get(f"/v1/projects/{first.project_id}/payouts?limit=1", headers=ops.headers)).json()
    assert [p["payout_id"] for p in page["items"]] == [payouts[0]["payout_id"]]
    rest = (
        await client.get(
            f"/v1/projects/{first.project_id}/payouts",
            params={"limit": 1, "cursor": page["next_cursor"]},
            headers=ops.headers,
        )
    ).json()
    assert ([p["payout_id"] for p in rest["items"]], rest["next_cursor"]) == ([payouts[1]["payout_id"]], None)


async def test_only_the_projects_creator_and_ops_read_its_payouts(
    client: AsyncTestClient[Litestar], make_user: MakeUser
) -> None:
    support = await captured_support(client, make_user, 2_500)
    url = f"/v1/projects/{support.project_id}/payouts"

    assert (await client.get(url, headers=make_user("ops").headers)).status_code == 200
    assert_problem(await client.get(url, headers=support.supporter.headers), 403, "forbidden")
    assert_problem(await client.get(url, headers=make_user("creator").headers), 404, "project_not_found")
    assert_problem(
        await client.get(f"/v1/projects/{uuid.uuid4()}/payouts", headers=support.creator.headers),
        404,
        "project_not_found",
    )
    assert_problem(await client.get(url), 401, "unauthorized")
    assert_problem(
        await client.get(url, params={"cursor": "not-a-cursor"}, headers=support.creator.headers),
        422,
        "validation_failed",
    )
    assert_problem(
        await client.get(url, params={"limit": 0}, headers=support.creator.headers), 422, "validation_failed"
    )
