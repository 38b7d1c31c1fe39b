"""API throughput and p99: support status reads, prepare and webhook ingestion, each against the
trivial `/healthz` route of the same server in the same run (operations.md, "Benchmarks").

    uv run python -m bench.api_bench [--requests 3000] [--concurrency 32]

Runs the API as its own uvicorn process on embedded PostgreSQL (a scratch cluster under
.patronage/bench-pg), drives it from this process over loopback, prints a table and the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path

import asyncpg
import psutil

from api.auth import Role, issue_token
from api.db import migrate
from api.db.embedded import start_embedded
from api.settings import settings_from
from bench.http_load import Request, Result, run
from bench.server import uvicorn_server
from tests.stripe_events import event, payment_intent, sign

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-" + "b" * 40
WEBHOOK_SECRET = "whsec_test_patronage"
WORKLOADS = ["read", "prepare", "webhook"]


async def seed(
    dsn: str, creator: uuid.UUID, supporter: uuid.UUID, count: int
) -> tuple[str, str, list[tuple[str, str]]]:
    """A project and `count` confirmed supports (inserted directly: the benchmark is of the reads and webhooks)."""
    conn = await asyncpg.connect(dsn)
    try:
        project_id, tier_id = uuid.uuid4(), uuid.uuid4()
        await conn.execute(
            "insert into projects (project_id, creator_id, title, description, currency, goal_minor) "
            "values ($1, $2, 'Bench', '', 'EUR', 100000)",
            project_id,
            creator,
        )
        await conn.execute(
            "insert into reward_tiers (tier_id, project_id, position, title, amount_minor, reward_type) "
            "values ($1, $2, 0, 'Tier', 1000, 'physical')",
            tier_id,
            project_id,
        )
        supports = [(uuid.uuid4(), f"pi_bench_{uuid.uuid4().hex[:16]}") for _ in range(count)]
        await conn.executemany(
            "insert into supports (support_id, project_id, tier_id, supporter_id, amount_minor, currency, status, "
            "policy_snapshot, payment_intent_id, confirmed_at, expires_at) values ($1, $2, $3, $4, 1000, 'EUR', "
            "'pending_payment', $5::jsonb, $6, now(), now() + interval '1 day')",
            [
                (
                    s,
                    project_id,
                    tier_id,
                    supporter,
                    json.dumps(
                        {
                            "policy_version": "v1",
                            "reward_type": "physical",
                            "cancellation_window_hours": 48,
                            "refund_policy": "x",
                        }
                    ),
                    pi,
                )
                for s, pi in supports
            ],
        )
        return str(project_id), str(tier_id), [(str(s), pi) for s, pi in supports]
    finally:
        await conn.close()


async def settle_database(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("vacuum (analyze)")
        await conn.execute("checkpoint")
    finally:
        await conn.close()


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
        except psutil.NoSuchProcess:
            pass
    return total


def postgres_pids() -> list[int]:
    return [p.pid for p in psutil.process_iter(["name"]) if p.info["name"] == "postgres"]


Measured = tuple[Result, float, float, float]  # result, API, PostgreSQL and load-generator CPU seconds


def report(results: list[Measured], reference: Measured) -> str:
    """One row per workload. The CPU columns add up to what a request costs the two shared cores;
    `cpu bound req/s` is the throughput those costs would allow if the cores did nothing else."""
    lines = [
        "| workload | requests | req/s | p50 ms | p99 ms | ratio to /healthz | API CPU ms/req | PG CPU ms/req "
        "| load gen CPU ms/req | cpu bound req/s | statuses |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    base = reference[0].throughput
    cores = os.cpu_count() or 1
    for r, api_cpu, pg_cpu, client_cpu in [reference, *results]:
        per_request = [seconds * 1000 / r.requests for seconds in (api_cpu, pg_cpu, client_cpu)]
        lines.append(
            f"| {r.name} | {r.requests} | {r.throughput:,.0f} | {r.p50:.1f} | {r.p99:.1f} | "
            f"{r.throughput / base:.2f} | {' | '.join(f'{ms:.2f}' for ms in per_request)} | "
            f"{cores * 1000 / sum(per_request):,.0f} | {dict(sorted(r.statuses.items()))} |"
        )
    return "\n".join(lines)


async def main(total: int, concurrency: int, workers: int, only: set[str]) -> None:
    url = start_embedded(ROOT / ".patronage" / "bench-pg", database="patronage_bench")
    dsn = url.replace("postgresql+asyncpg", "postgresql")
    admin = await asyncpg.connect(dsn.replace("/patronage_bench?", "/postgres?"))
    await admin.execute("drop database if exists patronage_bench with (force)")
    await admin.execute("create database patronage_bench")
    await admin.close()
    await asyncio.to_thread(migrate.upgrade, url)

    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PATRONAGE_JWT_SECRET": SECRET,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "PATRONAGE_ENV": "test",
        "PATRONAGE_DATA_DIR": str(ROOT / ".patronage" / "bench"),
    }
    settings = settings_from(env)
    creator, supporter = uuid.uuid4(), uuid.uuid4()
    warm = concurrency * 4  # requests per workload before measuring: pools, statement caches, first payout
    project_id, tier_id, seeded = await seed(dsn, creator, supporter, total + warm)
    supports, spare = seeded[:total], seeded[total:]
    supporter_auth = {"Authorization": f"Bearer {issue_token(settings.auth, supporter, Role.supporter)}"}

    profiler = os.environ.get("BENCH_PROFILE")  # e.g. "py-spy record -r 200 --format raw -o /tmp/p.txt --"
    wrapper = profiler.split() if profiler else None
    with uvicorn_server("api.app:create_app", env, workers=workers, wrapper=wrapper) as (server, port):
        host = "127.0.0.1"
        print(f"benchmarking {total} requests per workload, {concurrency} connections, {workers} API process(es)")
        api_pids = [server.pid, *(c.pid for c in psutil.Process(server.pid).children(recursive=True))]

        async def measured(name: str, make: Callable[[int], Request]) -> Measured:
            await settle_database(dsn)  # the previous workload's vacuum and checkpoint are not billed to this one
            pg, me = postgres_pids(), [os.getpid()]
            api_before, pg_before, me_before = cpu_seconds(api_pids), cpu_seconds(pg), cpu_seconds(me)
            result = await run(name, host, port, make, total, concurrency)
            return (
                result,
                cpu_seconds(api_pids) - api_before,
                cpu_seconds(pg) - pg_before,
                cpu_seconds(me) - me_before,
            )

        def read(i: int) -> tuple[str, str, dict[str, str], bytes]:
            return "GET", f"/v1/supports/{supports[i % len(supports)][0]}", supporter_auth, b""

        body = json.dumps({"tier_id": tier_id, "amount_minor": 1000, "currency": "EUR"}).encode()

        def prepare(i: int) -> tuple[str, str, dict[str, str], bytes]:
            headers = {**supporter_auth, "Content-Type": "application/json", "Idempotency-Key": f"bench-{i}"}
            return "POST", f"/v1/projects/{project_id}/supports/prepare", headers, body

        def webhooks_for(pairs: list[tuple[str, str]], tag: str) -> Callable[[int], Request]:
            def webhook(i: int) -> Request:
                support_id, pi = pairs[i]
                intent = payment_intent(pi, 1000, "EUR", support_id, charge=f"ch_{tag}{i}")
                payload = event("payment_intent.succeeded", intent)
                headers = {"Content-Type": "application/json", "Stripe-Signature": sign(payload, secret=WEBHOOK_SECRET)}
                return "POST", "/v1/payments/webhooks/stripe", headers, payload

            return webhook

        for build in (
            read,
            lambda i: prepare(total + i),
            webhooks_for(spare, "warm"),
        ):  # steady state is what is measured
            await run("warm-up", host, port, build, warm, concurrency)
        reference = await measured("GET /healthz (trivial)", lambda i: ("GET", "/healthz", {}, b""))
        workloads = {
            "read": ("GET /v1/supports/{id}", read),
            "prepare": ("POST …/supports/prepare", prepare),
            "webhook": ("POST webhook (succeeded)", webhooks_for(supports, "")),
        }
        results = {key: await measured(name, build) for key, (name, build) in workloads.items() if key in only}
    print(report(list(results.values()), reference))
    if "read" in results:
        ratio = results["read"][0].throughput / reference[0].throughput
        print(f"\nstatus read / trivial route: {ratio:.2f} (target ≥ 0.50)")
    if "webhook" in results:
        print(f"webhook handling: {results['webhook'][0].throughput:,.0f} events/s (target ≥ 300)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1, help="API processes (uvicorn --workers)")
    parser.add_argument(
        "--only", nargs="+", choices=WORKLOADS, default=WORKLOADS, help="measure these workloads (for profiling)"
    )
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.concurrency, args.workers, set(args.only)))
