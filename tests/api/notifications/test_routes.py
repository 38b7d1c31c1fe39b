"""The in-app inbox, contact registration and the ops view of the queue, over HTTP."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests import stripe_events as se
from tests.api.flows import assert_problem
from tests.api.supports.flows import back_project, confirm, deliver
from tests.conftest import MakeUser


async def test_the_inbox_shows_my_in_app_notifications_newest_first(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    creator, supporter, support = await back_project(client, make_user)
    sid = support["support_id"]
    pi = (await confirm(client, supporter, sid))["checkout"]["payment_intent_id"]
    await deliver(
        client, se.event("payment_intent.succeeded", se.payment_intent(pi, 2_500, "EUR", sid, charge="ch_inbox"))
    )
    await deliver(
        client,
        se.event("charge.refunded", se.charge("ch_inbox", pi, 2_500, "EUR", refunded=2_500, refund_id="re_inbox")),
    )
    # The refund happened later: make that visible in created_at too (both rows came in one test second).
    await sql.execute(
        "update notification_deliveries d set created_at = d.created_at + interval '1 second' "
        "from notification_events e "
        "where e.notification_event_id = d.notification_event_id and e.event_type = 'refund_issued'"
    )

    inbox = (await client.get("/v1/me/notifications", headers=supporter.headers)).json()
    assert [i["event_type"] for i in inbox["items"]] == ["refund_issued", "payment_succeeded"]
    assert inbox["items"][1]["data"]["support_id"] == sid
    assert inbox["items"][1]["read_at"] is None
    assert inbox["items"][0]["title"] == "Refund issued"
    creator_inbox = (await client.get("/v1/me/notifications", headers=creator.headers)).json()["items"]
    assert [i["event_type"] for i in creator_inbox] == ["refund_issued", "payment_succeeded"]

    first = (await client.get("/v1/me/notifications?limit=1", headers=supporter.headers)).json()
    second = (
        await client.get(f"/v1/me/notifications?limit=1&cursor={first['next_cursor']}", headers=supporter.headers)
    ).json()
    assert [first["items"][0]["event_type"], second["items"][0]["event_type"]] == ["refund_issued", "payment_succeeded"]
    assert second["next_cursor"] is None

    nid = inbox["items"][0]["notification_id"]
    read = await client.post(f"/v1/me/notifications/{nid}/read", headers=supporter.headers)
    assert read.status_code == 200
    assert read.json()["read_at"] is not None
    again = await client.post(f"/v1/me/notifications/{nid}/read", headers=supporter.headers)
    assert again.json()["read_at"] == read.json()["read_at"]  # the first read time stays
    # Someone else's notification does not exist for me.
    assert_problem(await client.post(f"/v1/me/notifications/{nid}/read", headers=creator.headers), 404, "not_found")
    assert_problem(
        await client.post(f"/v1/me/notifications/{uuid.uuid4()}/read", headers=supporter.headers),
        404,
        "not_found",
    )
    assert_problem(await client.get("/v1/me/notifications"), 401, "unauthorized")


async def test_contact_registration_validates_and_replaces(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    user = make_user("supporter")
    ok = await client.put(
        "/v1/me/contact", json={"email": "fan@example.org", "push_token": "a1b2"}, headers=user.headers
    )
    assert ok.status_code == 200
    assert ok.json()["email"] == "fan@example.org"
    assert_problem(
        await client.put("/v1/me/contact", json={"email": "not-an-address"}, headers=user.headers),
        422,
        "validation_failed",
    )
    assert_problem(
        await client.put("/v1/me/contact", json={"role": "ops"}, headers=user.headers), 422, "validation_failed"
    )
    cleared = await client.put("/v1/me/contact", json={"email": "new@example.org"}, headers=user.headers)
    assert cleared.json()["push_token"] is None
    row = await sql.fetchrow("select email, push_token from user_contacts where user_id = $1", user.user_id)
    assert (row["email"], row["push_token"]) == ("new@example.org", None)


async def test_ops_queue_stats_per_channel(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    event_id = uuid.uuid4()
    await sql.execute(
        "insert into notification_events (notification_event_id, event_type, dedupe_key, payload) "
        "values ($1, 'dispute_sla_breach', 'k', '{}')",
        event_id,
    )
    old = datetime.now(UTC) - timedelta(minutes=10)
    for status, created, next_at in [
        ("pending", old, old),
        ("pending", datetime.now(UTC), datetime.now(UTC) + timedelta(minutes=5)),
        ("dead", old, old),
        ("delivered", old, old),
    ]:
        await sql.execute(
            "insert into notification_deliveries (delivery_id, notification_event_id, channel, status, created_at, "
            "next_attempt_at) values ($1, $2, 'ops', $3, $4, $5)",
            uuid.uuid4(),
            event_id,
            status,
            created,
            next_at,
        )
    assert_problem(await client.get("/v1/ops/queues", headers=make_user("creator").headers), 403, "forbidden")
    queues = {
        q["channel"]: q for q in (await client.get("/v1/ops/queues", headers=make_user("ops").headers)).json()["queues"]
    }
    assert set(queues) == {"push", "in_app", "email", "ops"}
    ops = queues["ops"]
    assert (ops["backlog"], ops["due"], ops["dead"], ops["delivered"], ops["in_flight"]) == (2, 1, 1, 1, 0)
    assert 590 < ops["oldest_age_seconds"] < 700
    assert queues["push"]["backlog"] == 0
    assert queues["push"]["oldest_age_seconds"] is None
