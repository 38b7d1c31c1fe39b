"""Ops handling a dispute: acknowledge and triage stamps (once), who may read or act, and closed disputes."""

from __future__ import annotations

import time
import uuid

import asyncpg
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.api.disputes.flows import DAY, closed_dispute, open_dispute, paid_support
from tests.api.flows import assert_problem
from tests.conftest import MakeUser


async def test_acknowledge_stamps_once_and_answers_the_same_document_again(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    paid = await paid_support(client, make_user)
    dispute_id = await open_dispute(client, paid, created=int(time.time()) - 60, due_by=int(time.time()) + 9 * DAY)
    first_ops, second_ops = make_user("ops"), make_user("ops")

    first = await client.post(f"/v1/disputes/{dispute_id}/acknowledge", headers=first_ops.headers)
    assert first.status_code == 200, first.text
    assert first.json()["sla"]["acked_at"] is not None
    assert first.json()["sla"]["triaged_at"] is None

    again = await client.post(f"/v1/disputes/{dispute_id}/acknowledge", headers=second_ops.headers)
    assert again.status_code == 200
    assert again.json() == first.json()
    row = await sql.fetchrow("select acked_at, acked_by from disputes where dispute_id = $1", uuid.UUID(dispute_id))
    assert row["acked_by"] == first_ops.user_id


async def test_triage_before_acknowledge_acknowledges_too_and_is_idempotent(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    paid = await paid_support(client, make_user)
    dispute_id = await open_dispute(client, paid, created=int(time.time()) - 60, due_by=int(time.time()) + 9 * DAY)
    ops = make_user("ops")

    triaged = await client.post(f"/v1/disputes/{dispute_id}/triage", headers=ops.headers)
    assert triaged.status_code == 200, triaged.text
    sla = triaged.json()["sla"]
    assert sla["triaged_at"] is not None
    assert sla["acked_at"] == sla["triaged_at"]

    later_ack = await client.post(f"/v1/disputes/{dispute_id}/acknowledge", headers=make_user("ops").headers)
    again = await client.post(f"/v1/disputes/{dispute_id}/triage", headers=make_user("ops").headers)
    assert later_ack.json() == again.json() == triaged.json()
    row = await sql.fetchrow("select acked_by, triaged_by from disputes where dispute_id = $1", uuid.UUID(dispute_id))
    assert row["acked_by"] == row["triaged_by"] == ops.user_id


async def test_closed_disputes_take_no_actions_and_unknown_ones_are_404(
    client: AsyncTestClient[Litestar], make_user: MakeUser
) -> None:
    dispute_id = await closed_dispute(client, make_user, "lost")
    ops = make_user("ops")

    for action in ("acknowledge", "triage"):
        assert_problem(
            await client.post(f"/v1/disputes/{dispute_id}/{action}", headers=ops.headers), 409, "dispute_closed"
        )
        assert_problem(
            await client.post(f"/v1/disputes/{uuid.uuid4()}/{action}", headers=ops.headers), 404, "not_found"
        )
    closed = (await client.get(f"/v1/disputes/{dispute_id}", headers=ops.headers)).json()
    assert closed["status"] == "lost"
    assert closed["sla"]["resolved_at"] is not None
    assert closed["sla"]["acked_at"] is None
    assert_problem(await client.get(f"/v1/disputes/{uuid.uuid4()}", headers=ops.headers), 404, "not_found")


async def test_who_may_read_and_act(client: AsyncTestClient[Litestar], make_user: MakeUser) -> None:
    paid = await paid_support(client, make_user)
    dispute_id = await open_dispute(client, paid, created=int(time.time()) - 60, due_by=int(time.time()) + 9 * DAY)
    url = f"/v1/disputes/{dispute_id}"

    # The project's creator reads its dispute, read-only.
    own = await client.get(url, headers=paid.creator.headers)
    assert own.status_code == 200, own.text
    assert own.json()["dispute_id"] == dispute_id
    for action in ("acknowledge", "triage"):
        assert_problem(await client.post(f"{url}/{action}", headers=paid.creator.headers), 403, "forbidden")
    assert_problem(
        await client.post(
            f"{url}/recovery-attempts", json={"method": "evidence_submission"}, headers=paid.creator.posting()
        ),
        403,
        "forbidden",
    )
    assert_problem(await client.get("/v1/disputes", headers=paid.creator.headers), 403, "forbidden")

    # Another creator: as if it did not exist.
    assert_problem(await client.get(url, headers=make_user("creator").headers), 404, "not_found")

    # Supporters (even the disputing one) are refused by role.
    for supporter in (paid.supporter, make_user("supporter")):
        assert_problem(await client.get(url, headers=supporter.headers), 403, "forbidden")
        assert_problem(await client.post(f"{url}/acknowledge", headers=supporter.headers), 403, "forbidden")
        assert_problem(await client.get("/v1/disputes", headers=supporter.headers), 403, "forbidden")

    assert (await client.get(url)).status_code == 401
    after = (await client.get(url, headers=make_user("ops").headers)).json()
    assert after["sla"]["acked_at"] is None  # nothing the others tried was applied
