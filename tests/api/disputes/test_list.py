"""The ops list of disputes: filters by status and escalation, keyset pagination."""

from __future__ import annotations

import time

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.api.disputes.flows import DAY, close, open_dispute, paid_support
from tests.api.flows import assert_problem
from tests.conftest import MakeUser


async def test_filters_and_pages_oldest_first(client: AsyncTestClient[Litestar], make_user: MakeUser) -> None:
    base = int(time.time()) - 3_600
    opened: list[str] = []
    for n, amount in enumerate((2_500, 60_000, 2_500, 60_000, 2_500)):
        paid = await paid_support(client, make_user, amount=amount)
        created = base + n * 60
        opened.append(await open_dispute(client, paid, created=created, due_by=created + 9 * DAY))
        if n == 4:
            await close(client, paid, created=created, due_by=created + 9 * DAY, outcome="won")
    ops = make_user("ops")

    async def all_pages(query: str) -> list[str]:
        ids: list[str] = []
        cursor: str | None = None
        pages = 0
        while True:
            url = f"/v1/disputes?limit=2{query}" + (f"&cursor={cursor}" if cursor else "")
            response = await client.get(url, headers=ops.headers)
            assert response.status_code == 200, response.text
            body = response.json()
            assert len(body["items"]) <= 2
            ids.extend(item["dispute_id"] for item in body["items"])
            pages += 1
            cursor = body["next_cursor"]
            if cursor is None:
                return ids
            assert pages < 10

    assert await all_pages("") == opened
    assert await all_pages("&status=open") == opened[:4]
    assert await all_pages("&status=won") == [opened[4]]
    assert await all_pages("&escalated=true") == [opened[1], opened[3]]
    assert await all_pages("&escalated=false&status=open") == [opened[0], opened[2]]

    first = (await client.get("/v1/disputes?limit=1", headers=ops.headers)).json()["items"][0]
    assert set(first) >= {"dispute_id", "status", "sla", "escalated", "recovery_attempts"}

    assert_problem(await client.get("/v1/disputes?cursor=garbage", headers=ops.headers), 422, "validation_failed")
    assert_problem(await client.get("/v1/disputes?status=pending", headers=ops.headers), 422, "validation_failed")
    assert_problem(await client.get("/v1/disputes?limit=201", headers=ops.headers), 422, "validation_failed")
