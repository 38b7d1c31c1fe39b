"""The webhook route: signatures, the inbox (store first, duplicates), and events it must not apply."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests import stripe_events as se
from tests.api.flows import assert_problem
from tests.api.supports.flows import WEBHOOK, back_project, confirm, deliver, succeeded_support
from tests.conftest import MakeUser


def post(client: AsyncTestClient[Litestar], payload: bytes, signature: str | None):  # type: ignore[no-untyped-def]
    headers = {"Content-Type": "application/json"} | ({"Stripe-Signature": signature} if signature else {})
    return client.post(WEBHOOK, content=payload, headers=headers)


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "garbage",
        "t=1,v1=deadbeef",
        "forged",
        "stale",
        "other-secret",
    ],
)
async def test_bad_signatures_are_400_and_store_nothing(
    client: AsyncTestClient[Litestar], sql: asyncpg.Connection, signature: str | None
) -> None:
    payload = se.event("payment_intent.succeeded", se.payment_intent("pi_x", 100, "EUR", str(uuid.uuid4())))
    header = {
        "forged": se.sign(payload.replace(b"100", b"999")),
        "stale": se.sign(payload, timestamp=int(time.time()) - 301),
        "other-secret": se.sign(payload, secret="whsec_someone_else"),
    }.get(signature or "", signature)
    assert_problem(await post(client, payload, header), 400, "invalid_signature")
    assert await sql.fetchval("select count(*) from provider_events") == 0


async def test_malformed_or_non_event_bodies_with_valid_signatures(
    client: AsyncTestClient[Litestar], sql: asyncpg.Connection
) -> None:
    for payload, code, status in [
        (b'{"id": "evt_1", "type": ', "malformed_json", 400),
        (b"\xff\xfe not json", "invalid_signature", 400),  # Stripe signs text: bytes are never verified
        (json.dumps({"hello": "world"}).encode(), "validation_failed", 422),
        (
            json.dumps({"id": "evt_2", "type": "x", "created": 1, "data": {"object": 5}}).encode(),
            "validation_failed",
            422,
        ),
    ]:
        assert_problem(await post(client, payload, se.sign(payload)), status, code)
    assert await sql.fetchval("select count(*) from provider_events") == 0


async def test_redelivery_is_a_duplicate_with_no_effect(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    _, supporter, support = await back_project(client, make_user)
    pi = (await confirm(client, supporter, support["support_id"]))["checkout"]["payment_intent_id"]
    payload = se.event(
        "payment_intent.succeeded", se.payment_intent(pi, 2_500, "EUR", support["support_id"], charge="ch_1")
    )
    first = await deliver(client, payload)
    second = await deliver(client, payload)
    assert first == {"received": True, "duplicate": False, "outcome": "applied"}
    assert second == {"received": True, "duplicate": True}
    assert await sql.fetchval("select count(*) from provider_events") == 1
    assert await sql.fetchval("select count(*) from journal_entries") == 1
    assert await sql.fetchval("select count(*) from support_status_history where source = 'webhook'") == 1


async def test_a_late_webhook_dates_the_payment_when_the_provider_took_it(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    """Stripe retried for two days: the journal and the `payment_succeeded` server event say when the money was
    taken (the event's second, at its end), while finality, payouts and the cancellation window run from the
    webhook's arrival. A prompt webhook is dated no later than its arrival."""
    for days_late in (2, 0):
        _, supporter, support = await back_project(client, make_user)
        support_id = support["support_id"]
        pi = (await confirm(client, supporter, support_id))["checkout"]["payment_intent_id"]
        created = int(time.time()) - days_late * 86_400
        intent = se.payment_intent(pi, 2_500, "EUR", support_id, charge=f"ch_late{days_late}")
        arrived = datetime.now(UTC)
        assert (await deliver(client, se.event("payment_intent.succeeded", intent, created=created)))["outcome"] == (
            "applied"
        )
        booked = await sql.fetchval(
            "select occurred_at from journal_entries where entry_type = 'support_hold' and support_id = $1",
            uuid.UUID(support_id),
        )
        succeeded_at = await sql.fetchval(
            "select succeeded_at from supports where support_id = $1", uuid.UUID(support_id)
        )
        landed = [json.loads(raw) for raw in await sql.fetchval("select array_agg(raw) from event_landing")]
        event = next(
            e for e in landed if e["event_name"] == "payment_succeeded" and e["properties"]["support_id"] == support_id
        )
        assert datetime.fromisoformat(event["occurred_at"]) == booked.replace(
            microsecond=booked.microsecond // 1000 * 1000
        )
        assert succeeded_at >= arrived
        if days_late:
            assert booked == datetime.fromtimestamp(created, UTC) + timedelta(seconds=1, microseconds=-1)
        else:
            assert datetime.fromtimestamp(created, UTC) <= booked <= succeeded_at


async def test_concurrent_deliveries_of_one_event_apply_it_once(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    """Stripe may deliver an event again while the first delivery is still being handled: the first
    insert holds the inbox row, the others wait on it and then answer duplicate."""
    _, supporter, support = await back_project(client, make_user)
    pi = (await confirm(client, supporter, support["support_id"]))["checkout"]["payment_intent_id"]
    payload = se.event(
        "payment_intent.succeeded", se.payment_intent(pi, 2_500, "EUR", support["support_id"], charge="ch_1")
    )
    receipts = await asyncio.gather(*(deliver(client, payload) for _ in range(8)))
    assert sorted(r["duplicate"] for r in receipts) == [False] + [True] * 7
    assert await sql.fetchval("select count(*) from provider_events where handled_at is not null") == 1
    assert await sql.fetchval("select count(*) from journal_entries") == 1
    assert await sql.fetchval("select count(*) from notification_events") == 1
    assert await sql.fetchval("select count(*) from payout_items") == 1


async def test_unknown_types_and_unknown_supports_are_stored_and_acknowledged(
    client: AsyncTestClient[Litestar], sql: asyncpg.Connection
) -> None:
    unknown_type = await deliver(client, se.event("customer.created", {"id": "cus_1", "object": "customer"}))
    assert unknown_type["outcome"] == "ignored"
    orphan = await deliver(
        client, se.event("payment_intent.succeeded", se.payment_intent("pi_nobody", 100, "EUR", str(uuid.uuid4())))
    )
    assert orphan["outcome"] == "unmatched"
    rows = await sql.fetch("select event_type, outcome, raw_payload from provider_events order by id")
    assert [(r["event_type"], r["outcome"]) for r in rows] == [
        ("customer.created", "ignored"),
        ("payment_intent.succeeded", "unmatched"),
    ]
    assert '"pi_nobody"' in rows[1]["raw_payload"]
    assert await sql.fetchval("select count(*) from journal_entries") == 0


@pytest.mark.parametrize(("amount", "currency"), [(2_499, "EUR"), (2_500, "USD")])
async def test_disagreeing_amount_or_currency_is_flagged_not_applied(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection, amount: int, currency: str
) -> None:
    _, supporter, support = await back_project(client, make_user)
    pi = (await confirm(client, supporter, support["support_id"]))["checkout"]["payment_intent_id"]
    receipt = await deliver(
        client, se.event("payment_intent.succeeded", se.payment_intent(pi, amount, currency, support["support_id"]))
    )
    assert receipt["outcome"] == "flagged"
    read = (await client.get(f"/v1/supports/{support['support_id']}", headers=supporter.headers)).json()
    assert read["status"] == "pending_payment"
    assert await sql.fetchval("select count(*) from journal_entries") == 0
    assert await sql.fetchval("select detail from provider_events") is not None


async def test_failure_after_success_is_recorded_but_not_applied(
    client: AsyncTestClient[Litestar], make_user: MakeUser
) -> None:
    supporter, support, pi, _ = await succeeded_support(client, make_user)
    late = se.payment_intent(
        pi, 2_500, "EUR", support["support_id"], status="requires_payment_method", error_code="card_declined"
    )
    receipt = await deliver(client, se.event("payment_intent.payment_failed", late, created=int(time.time()) + 5))
    assert receipt["outcome"] == "not_applied"
    read = (await client.get(f"/v1/supports/{support['support_id']}", headers=supporter.headers)).json()
    assert read["status"] == "succeeded"
    last = read["history"][-1]
    assert (last["from_status"], last["to_status"], last["applied"]) == ("succeeded", "succeeded", False)
    assert last["reason"] == "payment_intent.payment_failed"


async def test_a_handler_failure_keeps_the_event_for_redelivery(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.payments import webhooks

    _, supporter, support = await back_project(client, make_user)
    pi = (await confirm(client, supporter, support["support_id"]))["checkout"]["payment_intent_id"]
    payload = se.event("payment_intent.succeeded", se.payment_intent(pi, 2_500, "EUR", support["support_id"]))

    async def broken(_: object) -> None:
        raise RuntimeError("handler bug")

    monkeypatch.setitem(webhooks.HANDLERS, "payment_intent.succeeded", broken)
    response = await post(client, payload, se.sign(payload))
    assert_problem(response, 500, "internal_error")
    stored = await sql.fetchrow("select handled_at, outcome from provider_events")
    assert stored["handled_at"] is None
    assert await sql.fetchval("select count(*) from journal_entries") == 0

    monkeypatch.undo()
    redelivered = await deliver(client, payload)
    assert redelivered == {"received": True, "duplicate": False, "outcome": "applied"}
