"""PostgreSQL stopped and started 5 times under load (issue 18): the API keeps its contract throughout.

The API runs as its own uvicorn process on a PostgreSQL of this test's own, which is stopped with
`pg_ctl stop -m fast` (every backend gets FATAL, every socket closes) and started again while clients
keep going: status reads, batches of product events, prepares and signed `payment_intent.succeeded`
webhooks. Each client acts as its real counterpart does on a 503: the app retries with the same
`Idempotency-Key` or the same batch, Stripe redelivers the same event.

Every answer is a 2xx (or 304), a 503 with `Retry-After`, or a 409 `idempotency_key_in_use` with
`Retry-After` (a retry racing its own first attempt): never a 500. Requests sent 2 s or more after a
start are served. Afterwards every batch answered 202 is in the landing table, every prepare key made
one support, every webhook's support succeeded once, and the journal sums to zero.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from api.auth import Role, issue_token
from api.db import migrate
from api.db.embedded import start_embedded
from api.settings import settings_from
from bench.api_bench import seed
from bench.server import uvicorn_server
from tests.conftest import JWT_SECRET, UNBALANCED_ENTRIES, WEBHOOK_SECRET
from tests.stripe_events import event, payment_intent, sign

pytestmark = pytest.mark.slow

RESTARTS = 5
UP_SECONDS = 2.5  # load between a start and the next stop
DOWN_SECONDS = 1.0  # the server stays stopped this long
RESUME_SECONDS = 2.0  # requests sent this long after a start must be served
SUPPORTS = 400  # confirmed supports whose webhooks arrive during the test
STOP = ["-w", "-t", "60", "-m", "fast", "stop"]


@dataclass
class Answer:
    kind: str
    sent: float  # time.monotonic() when the request went out
    answered: float  # and when its answer came
    status: int
    retry_after: str | None
    code: str | None


@dataclass
class Load:
    answers: list[Answer] = field(default_factory=list)
    landed_batches: list[list[str]] = field(default_factory=list)  # event ids of each batch answered 202
    prepared: dict[str, str] = field(default_factory=dict)  # Idempotency-Key -> support_id
    delivered: list[str] = field(default_factory=list)  # supports whose webhook was answered 200
    running: bool = True

    async def until_served(
        self, http: httpx.AsyncClient, kind: str, method: str, url: str, **request: Any
    ) -> httpx.Response:
        """Send, and send the same again on a 503 or a 409 a moment later, as the real clients do."""
        while True:
            sent = time.monotonic()
            response = await http.request(method, url, **request)
            body = response.json() if response.headers.get("content-type", "").endswith("json") else {}
            code = body.get("code") if isinstance(body, dict) else None
            self.answers.append(
                Answer(kind, sent, time.monotonic(), response.status_code, response.headers.get("retry-after"), code)
            )
            if response.status_code not in (409, 503):
                return response
            await asyncio.sleep(0.1)


def product_event(user_id: uuid.UUID, project_id: str) -> dict[str, object]:
    return {
        "event_id": str(uuid.uuid4()),
        "event_name": "project_view",
        "schema_version": "1.0",
        "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "platform": "ios",
        "app_version": "3.15.0",
        "user_id": str(user_id),
        "session_id": "restarts",
        "project_id": project_id,
        "properties": {"source": "feed"},
    }


async def test_the_api_keeps_its_contract_while_postgresql_restarts(tmp_path: Path) -> None:
    import pgserver
    from pgserver._commands import pg_ctl  # type: ignore[attr-defined]  # generated at import

    pgdata = tmp_path / "pg"
    url = start_embedded(pgdata, database="restarts")
    await asyncio.to_thread(migrate.upgrade, url)
    server = pgserver.get_server(pgdata)
    dsn = url.replace("postgresql+asyncpg", "postgresql")
    env = {
        "PATRONAGE_ENV": "test",
        "PATRONAGE_DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": url,
        "PATRONAGE_JWT_SECRET": JWT_SECRET,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "PATH": "/usr/bin:/bin",
    }
    settings = settings_from(env)
    creator, supporter = uuid.uuid4(), uuid.uuid4()
    project_id, tier_id, supports = await seed(dsn, creator, supporter, SUPPORTS)  # confirmed, awaiting webhooks
    auth = {"Authorization": f"Bearer {issue_token(settings.auth, supporter, Role.supporter)}"}
    load = Load()
    stops: list[float] = []  # time.monotonic() as each stop began
    starts: list[float] = []  # and as each start had finished

    with uvicorn_server("api.app:create_app", env) as (_, port):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:

            async def reads() -> None:
                for support_id, _ in itertools.cycle(supports):
                    if not load.running:
                        return
                    await load.until_served(http, "read", "GET", f"/v1/supports/{support_id}", headers=auth)

            async def events() -> None:
                while load.running:  # many phones (one app may send 120 batches a minute)
                    phone = uuid.uuid4()
                    headers = {"Authorization": f"Bearer {issue_token(settings.auth, phone, Role.supporter)}"}
                    batch = [product_event(phone, project_id) for _ in range(20)]
                    response = await load.until_served(
                        http, "events", "POST", "/v1/events", json={"events": batch}, headers=headers
                    )
                    if response.status_code == 202:
                        load.landed_batches.append([str(e["event_id"]) for e in batch])
                    await asyncio.sleep(0.02)

            async def prepares() -> None:
                body = {"tier_id": tier_id, "amount_minor": 1000, "currency": "EUR"}
                while load.running:
                    key = str(uuid.uuid4())
                    headers = {**auth, "Idempotency-Key": key}
                    url = f"/v1/projects/{project_id}/supports/prepare"
                    response = await load.until_served(http, "prepare", "POST", url, json=body, headers=headers)
                    if response.is_success:
                        load.prepared[key] = response.json()["support_id"]
                    await asyncio.sleep(0.02)

            async def webhooks(share: list[tuple[str, str]]) -> None:
                for support_id, pi in share:
                    payload = event("payment_intent.succeeded", payment_intent(pi, 1000, "EUR", support_id))
                    headers = {"Content-Type": "application/json", "Stripe-Signature": sign(payload)}
                    url = "/v1/payments/webhooks/stripe"
                    response = await load.until_served(http, "webhook", "POST", url, content=payload, headers=headers)
                    if response.status_code == 200:
                        load.delivered.append(support_id)
                    await asyncio.sleep(0.05)

            async def restarts() -> None:
                for _ in range(RESTARTS):
                    await asyncio.sleep(UP_SECONDS)
                    stops.append(time.monotonic())
                    await asyncio.to_thread(pg_ctl, STOP, pgdata=pgdata, user=server.system_user)
                    await asyncio.sleep(DOWN_SECONDS)
                    await asyncio.to_thread(server.ensure_postgres_running)
                    starts.append(time.monotonic())
                await asyncio.sleep(UP_SECONDS)
                load.running = False

            clients = [reads() for _ in range(6)] + [events(), events(), prepares(), prepares()]
            clients += [webhooks(supports[i::2]) for i in range(2)]
            await asyncio.gather(restarts(), *clients)

    assert start_embedded(pgdata, database="restarts") == url  # the same server, at the same socket

    statuses = Counter((a.kind, a.status) for a in load.answers)
    print(f"\n{len(load.answers):,} requests over {RESTARTS} restarts: {dict(statuses)}")
    unexpected = [a for a in load.answers if a.status not in (200, 201, 202, 304, 409, 503)]
    assert unexpected == [], unexpected[:5]
    refusals = [a for a in load.answers if a.status in (409, 503)]
    assert all(a.retry_after and int(a.retry_after) > 0 for a in refusals), refusals[:5]
    assert {a.code for a in refusals} <= {"service_unavailable", "idempotency_key_in_use"}
    assert sum(a.status == 503 for a in load.answers) >= RESTARTS  # the server really went away, each time
    late = [
        (round(a.sent - start, 2), a.kind)
        for start, next_stop in zip(starts, [*stops[1:], float("inf")], strict=True)
        for a in refusals
        if start + RESUME_SECONDS <= a.sent and a.answered < next_stop
    ]
    assert late == [], f"still refused after {RESUME_SECONDS} s: {late[:5]}"
    resumed = [
        min((a.sent - start for a in load.answers if a.sent >= start and a.status < 300), default=None)
        for start in starts
    ]
    print(f"first request served after each start: {[round(s, 2) if s is not None else None for s in resumed]} s")

    conn = await asyncpg.connect(dsn)
    try:
        landed = {
            json.loads(raw)["event_id"] for raw in await conn.fetchval("select array_agg(raw) from event_landing")
        }
        missing = [e for batch in load.landed_batches for e in batch if e not in landed]
        assert load.landed_batches
        assert missing == []
        # Every prepare was retried until served: each key made one support, and no retry made another.
        prepared = {r["support_id"] for r in await conn.fetch("select support_id::text from supports")}
        assert len(load.prepared) >= RESTARTS
        assert len(set(load.prepared.values())) == len(load.prepared)
        assert set(load.prepared.values()) <= prepared
        assert len(prepared) == SUPPORTS + len(load.prepared)
        succeeded = await conn.fetch(
            "select support_id::text, (select count(*) from support_status_history h where h.support_id = s.support_id"
            " and h.to_status = 'succeeded' and h.applied) as times from supports s where status = 'succeeded'"
        )
        assert sorted(load.delivered) == sorted(r["support_id"] for r in succeeded)
        assert len(load.delivered) == SUPPORTS
        assert {r["times"] for r in succeeded} == {1}
        assert await conn.fetch(UNBALANCED_ENTRIES) == []
        totals = await conn.fetch("select currency, sum(amount_minor) as total from journal_lines group by currency")
        assert totals
        assert {r["total"] for r in totals} == {0}
    finally:
        await conn.close()
        server.cleanup()  # the last user leaves: stopped, its data kept
