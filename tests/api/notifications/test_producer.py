"""The producer: each business event queues exactly the matrix's deliveries, once, in its transaction."""

from __future__ import annotations

from collections import Counter

import asyncpg
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests import stripe_events as se
from tests.api.notifications.queue import creator_of, deliveries
from tests.api.supports.flows import back_project, confirm, deliver, new_ids
from tests.conftest import MakeUser


async def test_payment_success_refund_and_failure_queue_the_matrix_once(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    _, supporter, support = await back_project(client, make_user, amount_minor=2_500)
    sid, who = support["support_id"], str(supporter.user_id)
    pi = (await confirm(client, supporter, sid))["checkout"]["payment_intent_id"]
    ids = new_ids()
    creator = await creator_of(sql, sid)

    failed = se.event(
        "payment_intent.payment_failed",
        se.payment_intent(pi, 2_500, "EUR", sid, status="requires_payment_method", error_code="card_declined"),
    )
    succeeded = se.event("payment_intent.succeeded", se.payment_intent(pi, 2_500, "EUR", sid, charge=ids["ch"]))
    refunded = se.event("charge.refunded", se.charge(ids["ch"], pi, 2_500, "EUR", refunded=1_000, refund_id=ids["re"]))
    for payload in (failed, succeeded, refunded, failed, succeeded, refunded):  # each redelivered once
        await deliver(client, payload)

    assert await deliveries(sql) == Counter(
        {
            ("payment_failed", who, "push"): 1,
            ("payment_failed", who, "in_app"): 1,
            ("payment_succeeded", who, "push"): 1,
            ("payment_succeeded", who, "in_app"): 1,
            ("payment_succeeded", who, "email"): 1,
            ("payment_succeeded", creator, "in_app"): 1,
            ("refund_issued", who, "push"): 1,
            ("refund_issued", who, "in_app"): 1,
            ("refund_issued", who, "email"): 1,
            ("refund_issued", creator, "in_app"): 1,
        }
    )
    payload = await sql.fetchval("select payload from notification_events where event_type = 'refund_issued'")
    assert '"amount_minor": 1000' in payload
    assert sid in payload


async def test_a_failure_after_success_notifies_nobody(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    _, supporter, support = await back_project(client, make_user)
    sid = support["support_id"]
    pi = (await confirm(client, supporter, sid))["checkout"]["payment_intent_id"]
    await deliver(client, se.event("payment_intent.succeeded", se.payment_intent(pi, 2_500, "EUR", sid)))
    await deliver(
        client,
        se.event(
            "payment_intent.payment_failed", se.payment_intent(pi, 2_500, "EUR", sid, status="requires_payment_method")
        ),
    )
    assert not await deliveries(sql, "payment_failed")


async def test_campaign_updates_fan_out_to_current_supporters_only(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    creator, backer, support = await back_project(client, make_user)
    project_id = support["project_id"]
    pi = (await confirm(client, backer, support["support_id"]))["checkout"]["payment_intent_id"]
    await deliver(
        client, se.event("payment_intent.succeeded", se.payment_intent(pi, 2_500, "EUR", support["support_id"]))
    )
    # A second supporter who only prepared (never paid) is not a supporter yet.
    lurker = make_user("supporter")
    tier = (await client.get(f"/v1/projects/{project_id}", headers=lurker.headers)).json()["reward_tiers"][0]
    prepared = await client.post(
        f"/v1/projects/{project_id}/supports/prepare",
        json={"tier_id": tier["tier_id"], "amount_minor": 2_500, "currency": "EUR"},
        headers=lurker.posting(),
    )
    assert prepared.status_code == 201

    key = "update-1"
    for _ in range(2):  # an idempotent replay fans out nothing new
        response = await client.post(
            f"/v1/projects/{project_id}/updates",
            json={"title": "Shipping!", "body": "Boxes leave Monday."},
            headers=creator.posting(key),
        )
        assert response.status_code == 201, response.text

    assert await deliveries(sql, "campaign_update") == Counter(
        {("campaign_update", str(backer.user_id), "push"): 1, ("campaign_update", str(backer.user_id), "in_app"): 1}
    )
