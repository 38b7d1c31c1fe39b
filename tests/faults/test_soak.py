"""A mixed soak (issue 18): iOS-like traffic at a fixed rate, the provider's webhooks, the worker and
ingestion runs, all at once, for PATRONAGE_SOAK_SECONDS (60 by default, as `make test` and CI run it; longer by hand).

Every part is its own process, as in production: the API (uvicorn), the local Stripe (localstripe, which
sends its signed webhooks to the API), `patronage worker`, and a process materializing the ingestion job
again and again, with the analytics job (dbt) in between. The phones are threads of this test, a new one
starting every 1/RATE s whatever the others are doing: each browses the feed, views a project and sends
its events; every third backs it (prepare, confirm, pay with a test card, one in seven declined, then
polls until the webhook decided); every fifth payer cancels within the window and Stripe's refund webhook
follows.

At the end: no answer was a 5xx; every ingestion run succeeded, each conserving its inputs exactly; the
journal sums to zero; every support's status is what its webhook history implies; the API's latency
(p50, p99) is printed per kind of request.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import stripe

from api.auth import Role
from api.db import migrate
from api.settings import settings_from
from bench.server import uvicorn_server
from devtools.ports import free_port
from devtools.traffic import Traffic
from tests.conftest import JWT_SECRET, ROOT, UNBALANCED_ENTRIES, WEBHOOK_SECRET, recreate_database

pytestmark = pytest.mark.slow

SECONDS = float(os.environ.get("PATRONAGE_SOAK_SECONDS", "60"))
RATE = 4.0  # phones starting per second
PHONES_AT_ONCE = 16


@contextmanager
def process(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        started = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield started
        finally:
            if started.poll() is None:
                started.terminate()
                started.wait(30)


class Latencies:
    """Each API answer's status and time to its headers, by kind of request (method and route)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_kind: dict[str, list[float]] = defaultdict(list)
        self.statuses: Counter[int] = Counter()
        self.server_errors: list[str] = []

    def start(self, request: httpx.Request) -> None:
        request.extensions["started"] = time.perf_counter()

    def done(self, response: httpx.Response) -> None:
        request = response.request
        elapsed = time.perf_counter() - request.extensions["started"]
        parts = request.url.path.strip("/").split("/")
        kind = request.method + " /" + "/".join("{id}" if len(p) >= 32 else p for p in parts)
        with self.lock:
            self.by_kind[kind].append(elapsed * 1000)
            self.statuses[response.status_code] += 1
            if response.status_code >= 500:
                response.read()
                self.server_errors.append(f"{kind} {response.status_code} {response.text[:200]}")

    def report(self) -> str:
        every = sorted(ms for values in self.by_kind.values() for ms in values)
        lines = [f"{len(every):,} requests, statuses {dict(sorted(self.statuses.items()))}"]
        lines.append(f"all: p50 {statistics.median(every):.0f} ms, p99 {p99(every):.0f} ms")
        for kind, values in sorted(self.by_kind.items(), key=lambda item: -len(item[1])):
            lines.append(
                f"{kind}: {len(values)} requests, p50 {statistics.median(values):.0f} ms, p99 {p99(values):.0f} ms"
            )
        return "\n".join(lines)


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


# What a support's webhooks imply (the soak's flows: paid, declined, or paid then canceled and refunded).
IMPLIED_STATUS = """
select s.support_id, s.status,
       case when bool_or(e.event_type = 'charge.refunded') then 'refunded'
            when bool_or(e.event_type = 'payment_intent.succeeded') then 'succeeded'
            when bool_or(e.event_type = 'payment_intent.payment_failed') then 'failed'
       end as implied
  from supports s
  left join provider_events e
    on s.payment_intent_id in (e.payload #>> '{data,object,id}', e.payload #>> '{data,object,payment_intent}')
 group by s.support_id, s.status
"""


def test_a_mixed_soak(tmp_path: Path, admin_url: str) -> None:
    prefix = os.environ.get("PATRONAGE_TEST_DB_PREFIX", "patronage_test")
    url = asyncio.run(recreate_database(admin_url, f"{prefix}_soak"))
    migrate.upgrade(url)
    stripe_port = free_port()
    env = {
        **os.environ,
        "PATRONAGE_ENV": "test",
        "PATRONAGE_DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": url,
        "PATRONAGE_JWT_SECRET": JWT_SECRET,
        "STRIPE_API_BASE": f"http://127.0.0.1:{stripe_port}",
        "STRIPE_SECRET_KEY": "sk_test_patronage",
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "PATRONAGE_INGEST_WORKERS": "1",
    }
    settings = settings_from(env)
    stop_file = tmp_path / "stop"
    latencies = Latencies()
    phones: list[Future[str]] = []
    python = sys.executable
    with (
        process([python, "-m", "devtools.local_stripe", "--port", str(stripe_port)], env, tmp_path / "stripe.log"),
        uvicorn_server("api.app:create_app", env) as (_, port),
        process([python, "-m", "patronage.cli", "worker"], env, tmp_path / "worker.log") as worker,
        process(
            [python, "-m", "tests.faults.ingestion_loop", str(stop_file), str(max(SECONDS / 2, 20))],
            env,
            tmp_path / "runs.log",
        ) as runs,
    ):
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.post(
                    f"{env['STRIPE_API_BASE']}/_config/webhooks/patronage",
                    json={"url": f"{base}/v1/payments/webhooks/stripe", "secret": WEBHOOK_SECRET},
                ).raise_for_status()
                break
            except httpx.TransportError:
                time.sleep(0.1)
        payments = stripe.StripeClient(
            "sk_test_patronage", base_addresses={"api": env["STRIPE_API_BASE"]}, max_network_retries=0
        )
        hooks: dict[str, list[Callable[..., Any]]] = {"request": [latencies.start], "response": [latencies.done]}
        limits = httpx.Limits(max_connections=PHONES_AT_ONCE)
        with httpx.Client(base_url=base, timeout=30, event_hooks=hooks, limits=limits) as http:
            traffic = Traffic(http, settings, payments)
            _, projects = traffic.create_projects(3)

            def phone(n: int) -> str:
                app = traffic.user(Role.supporter)
                items = app.browse()
                project = next(item for item in items if item["project_id"] == projects[n % len(projects)])
                app.view(project)
                outcome = "browsed"
                if n % 3 == 0:
                    card = "pm_card_chargeCustomerFail" if n % 7 == 3 else "pm_card_visa"
                    support = app.back(project, payments, card)
                    outcome = str(support["status"])
                    if outcome == "succeeded" and n % 5 == 0:
                        app.cancel(support["support_id"])
                        traffic.refund(support)
                        outcome = str(app.poll(support["support_id"])["status"])
                app.flush_events()
                return outcome

            ends = time.monotonic() + SECONDS
            with ThreadPoolExecutor(max_workers=PHONES_AT_ONCE, thread_name_prefix="phone") as pool:
                n = 0
                while time.monotonic() < ends:
                    phones.append(pool.submit(phone, n))
                    n += 1
                    time.sleep(1 / RATE)
            outcomes = Counter(future.result() for future in phones)
        stop_file.touch()
        runs.wait(300)
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-2000:]

    print(f"\nsoak of {SECONDS:.0f} s, {len(phones)} phones: {dict(outcomes)}")
    print(latencies.report())
    assert latencies.server_errors == []
    assert {"succeeded", "failed", "refunded"} <= set(outcomes)

    ingestion = [json.loads(line) for line in (tmp_path / "runs.log").read_text().splitlines() if line.startswith("{")]
    for job in ("ingestion_job", "analytics_job"):
        seconds = [r["seconds"] for r in ingestion if r["job"] == job]
        print(f"{job}: {len(seconds)} runs, {statistics.median(seconds):.1f} s each (median)")
    assert sum(r["job"] == "ingestion_job" for r in ingestion) >= 2
    assert any(r["job"] == "analytics_job" for r in ingestion)
    assert all(r["success"] for r in ingestion), (tmp_path / "runs.log").read_text()[-3000:]

    import duckdb

    with duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True) as warehouse:
        audits = warehouse.execute(
            "select received, accepted, duplicates, dead_lettered from marts.ingestion_audit"
        ).fetchall()
    assert audits
    assert [a for a in audits if a[0] != a[1] + a[2] + a[3]] == []
    assert sum(a[0] for a in audits) > 0

    journal, supports = asyncio.run(ledger_and_supports(url))
    assert journal["unbalanced"] == []
    assert journal["totals"]
    assert set(journal["totals"]) == {0}
    assert supports
    assert [(r["support_id"], r["status"], r["implied"]) for r in supports if r["status"] != r["implied"]] == []


async def ledger_and_supports(url: str) -> tuple[dict[str, list[Any]], list[asyncpg.Record]]:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        unbalanced = await conn.fetch(UNBALANCED_ENTRIES)
        totals = await conn.fetch("select sum(amount_minor) as total from journal_lines group by currency")
        return {"unbalanced": unbalanced, "totals": [r["total"] for r in totals]}, await conn.fetch(IMPLIED_STATUS)
    finally:
        await conn.close()
