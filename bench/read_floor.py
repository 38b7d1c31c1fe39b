"""The floor under any status read that asks PostgreSQL: how close can a read get to `/healthz`?

    uv run python -m bench.read_floor [--requests 20000]

A second, minimal Litestar app (not Patronage's) with two routes, run like the API (uvicorn, one
process, uvloop + httptools) on the same embedded PostgreSQL and driven by the same load generator:

- `GET /healthz`: the same trivial route as the API's;
- `GET /rows/{id}`: one primary-key lookup of a ready-made JSON document on a pooled asyncpg
  connection (a prepared statement, autocommit), answered as the stored bytes: no authentication,
  no dependency injection, no ORM, no encoding, no ETag.

Every real status read does at least this much, so its ratio to `/healthz` is an upper bound for
the API's status read on this machine (issue 3 asks for ≥ 0.50).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import uuid
from collections.abc import Callable
from pathlib import Path

import asyncpg
from litestar import Litestar, Response, get

from bench.api_bench import cpu_seconds, postgres_pids, settle_database
from bench.http_load import Request, run
from bench.server import uvicorn_server

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = (
    b'{"support_id":"%s","status":"succeeded","project_id":"7d0f5b9c-8a62-4c47-9a43-6b0a1c6f1d2e",'
    b'"tier_id":"0c5b7d1e-6a8f-4f43-8d2a-1e9b3c4d5f60","amount_minor":1000,"currency":"EUR",'
    b'"policy_snapshot":{"policy_version":"v1","reward_type":"physical","cancellation_window_hours":48,'
    b'"refund_policy":"Full refund within 48 hours."},"history":[{"from_status":null,"to_status":"prepared",'
    b'"reason":"prepare","source":"api","applied":true,"occurred_at":"2026-11-28T03:00:00Z"}]}'
)


def create_app() -> Litestar:
    """The floor app (uvicorn factory); reads FLOOR_DSN."""
    pool: list[asyncpg.Pool] = []

    async def connect() -> None:
        pool.append(await asyncpg.create_pool(os.environ["FLOOR_DSN"], min_size=20, max_size=20))

    async def close() -> None:
        await pool[0].close()

    @get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @get("/rows/{row_id:uuid}")
    async def row(row_id: uuid.UUID) -> Response[bytes]:
        async with pool[0].acquire() as connection:
            document = await connection.fetchval("select document from floor_rows where id = $1", row_id)
        return Response(document, media_type="application/json")

    return Litestar([healthz, row], on_startup=[connect], on_shutdown=[close])


async def main(total: int, concurrency: int) -> None:
    from api.db.embedded import start_embedded

    url = start_embedded(ROOT / ".patronage" / "bench-pg", database="patronage_floor")
    dsn = url.replace("postgresql+asyncpg", "postgresql")
    conn = await asyncpg.connect(dsn)
    ids = [uuid.uuid4() for _ in range(total)]
    try:
        await conn.execute("drop table if exists floor_rows")
        await conn.execute("create table floor_rows (id uuid primary key, document bytea not null)")
        await conn.executemany("insert into floor_rows values ($1, $2)", [(i, DOCUMENT % str(i).encode()) for i in ids])
    finally:
        await conn.close()

    with uvicorn_server("bench.read_floor:create_app", {**os.environ, "FLOOR_DSN": dsn}) as (server, port):
        workloads: dict[str, Callable[[int], Request]] = {
            "GET /healthz": lambda i: ("GET", "/healthz", {}, b""),
            "GET /rows/{id}": lambda i: ("GET", f"/rows/{ids[i]}", {}, b""),
        }
        for make in workloads.values():
            await run("warm-up", "127.0.0.1", port, make, concurrency * 20, concurrency)
        print(f"{total} requests per route, {concurrency} connections, one server process")
        print("| route | req/s | p99 ms | API CPU ms/req | PG CPU ms/req | load gen CPU ms/req | ratio |")
        print("|---|---|---|---|---|---|---|")
        reference = None
        for name, make in workloads.items():
            await settle_database(dsn)
            pg = postgres_pids()
            before = cpu_seconds([server.pid]), cpu_seconds(pg), cpu_seconds([os.getpid()])
            result = await run(name, "127.0.0.1", port, make, total, concurrency)
            after = cpu_seconds([server.pid]), cpu_seconds(pg), cpu_seconds([os.getpid()])
            reference = reference or result.throughput
            cpu = " | ".join(f"{(a - b) * 1000 / total:.3f}" for a, b in zip(after, before, strict=True))
            print(
                f"| {name} | {result.throughput:,.0f} | {result.p99:.1f} | {cpu} | {result.throughput / reference:.2f} |"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.concurrency))
