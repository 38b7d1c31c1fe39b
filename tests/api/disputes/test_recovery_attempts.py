"""Recovery attempts: ops record them once per Idempotency-Key; bodies are validated; a closed dispute takes no
more evidence, but recovery after a lost one (clawback, supporter contact) is recorded."""

from __future__ import annotations

import time
import uuid

import asyncpg
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.api.disputes.flows import DAY, closed_dispute, open_dispute, paid_support
from tests.api.flows import assert_problem
from tests.conftest import MakeUser


async def test_an_attempt_is_created_once_and_shown_on_the_dispute(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    paid = await paid_support(client, make_user)
    dispute_id = await open_dispute(client, paid, created=int(time.time()) - 60, due_by=int(time.time()) + 9 * DAY)
    ops = make_user("ops")
    url = f"/v1/disputes/{dispute_id}/recovery-attempts"
    body = {"method": "evidence_submission", "amount_minor": 2_500, "note": "Tracking number and signed delivery"}

    created = await client.post(url, json=body, headers=ops.posting("attempt-1"))
    assert created.status_code == 201, created.text
    attempt = created.json()
    assert attempt["dispute_id"] == dispute_id
    assert (attempt["method"], attempt["amount_minor"], attempt["note"]) == (
        "evidence_submission",
        2_500,
        "Tracking number and signed delivery",
    )
    assert attempt["created_by"] == str(ops.user_id)

    replay = await client.post(url, json=body, headers=ops.posting("attempt-1"))
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == attempt

    minimal = await client.post(url, json={"method": "supporter_contact"}, headers=ops.posting())
    assert minimal.status_code == 201, minimal.text
    assert (minimal.json()["amount_minor"], minimal.json()["note"]) == (None, None)

    count = await sql.fetchval(
        "select count(*) from dispute_recovery_attempts where dispute_id = $1", uuid.UUID(dispute_id)
    )
    assert count == 2
    shown = (await client.get(f"/v1/disputes/{dispute_id}", headers=paid.creator.headers)).json()
    assert [a["attempt_id"] for a in shown["recovery_attempts"]] == [
        attempt["attempt_id"],
        minimal.json()["attempt_id"],
    ]

    assert_problem(await client.post(url, json=body, headers=ops.headers), 400, "idempotency_key_required")
    assert_problem(
        await client.post(url, json={**body, "amount_minor": 1}, headers=ops.posting("attempt-1")),
        422,
        "idempotency_key_reused",
    )


async def test_invalid_bodies_are_422_and_store_nothing(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    paid = await paid_support(client, make_user)
    dispute_id = await open_dispute(client, paid, created=int(time.time()) - 60, due_by=int(time.time()) + 9 * DAY)
    ops = make_user("ops")
    url = f"/v1/disputes/{dispute_id}/recovery-attempts"
    for body in (
        {"method": "creator_clawback", "amount_minor": -1},
        {"method": "creator_clawback", "amount_minor": 10**12},
        {"method": "creator_clawback", "dispute_id": str(uuid.uuid4())},  # no mass assignment
        {"method": "chargeback_insurance"},
        {},
    ):
        assert_problem(await client.post(url, json=body, headers=ops.posting()), 422, "validation_failed")
    assert await sql.fetchval("select count(*) from dispute_recovery_attempts") == 0


async def test_closed_or_unknown_disputes_refuse_attempts(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    dispute_id = await closed_dispute(client, make_user, "won")
    ops = make_user("ops")
    body = {"method": "evidence_submission"}

    assert_problem(
        await client.post(f"/v1/disputes/{dispute_id}/recovery-attempts", json=body, headers=ops.posting()),
        409,
        "dispute_closed",
    )
    assert_problem(
        await client.post(f"/v1/disputes/{uuid.uuid4()}/recovery-attempts", json=body, headers=ops.posting()),
        404,
        "not_found",
    )
    assert await sql.fetchval("select count(*) from dispute_recovery_attempts") == 0


async def test_a_lost_dispute_takes_recovery_but_no_evidence(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    dispute_id = await closed_dispute(client, make_user, "lost")
    ops = make_user("ops")
    url = f"/v1/disputes/{dispute_id}/recovery-attempts"

    for method in ("creator_clawback", "supporter_contact"):
        response = await client.post(url, json={"method": method, "amount_minor": 2_500}, headers=ops.posting())
        assert response.status_code == 201, response.text
        assert response.json()["method"] == method
    assert_problem(
        await client.post(url, json={"method": "evidence_submission"}, headers=ops.posting()), 409, "dispute_closed"
    )
    document = (await client.get(f"/v1/disputes/{dispute_id}", headers=ops.headers)).json()
    assert [a["method"] for a in document["recovery_attempts"]] == ["creator_clawback", "supporter_contact"]
