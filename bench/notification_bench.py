"""Notification worker throughput: deliveries/s with 1 and 2 worker processes on the dev-sink
channels, against the raw rate of `SELECT … FOR UPDATE SKIP LOCKED` claims on the same database in
the same run (operations.md, "Benchmarks"; issue target ≥ 1,000 deliveries/s with 2 workers).

    uv run python -m bench.notification_bench [--deliveries 20000]

Each worker is its own process running the real delivery step (`deliver_due`: lease a batch,
render and send each message through its channel's transport, record outcomes); processes start,
connect and wait on a barrier, so the timing is of the delivery work only. The reference claims
the same number of rows in the same batches with a bare `select … for update skip locked` + update.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import tempfile
import time
import uuid
from datetime import UTC, datetime
from multiprocessing.synchronize import Barrier
from pathlib import Path

import asyncpg

from api.db import migrate
from api.db.embedded import start_embedded
from api.db.engine import Database
from api.notifications.channels import transports
from api.notifications.jobs import BATCH, deliver_due
from api.settings import settings_from

ROOT = Path(__file__).resolve().parent.parent
CHANNELS = ("push", "in_app", "email", "ops")


async def fill(dsn: str, count: int) -> None:
    """`count` due deliveries spread over the four channels (sinks), one event per four deliveries."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("truncate notification_deliveries, notification_events cascade")
        await conn.execute(
            """
            insert into notification_events (notification_event_id, event_type, dedupe_key, payload)
            select gen_random_uuid(), 'payment_succeeded', 'bench-' || g,
                   jsonb_build_object('support_id', gen_random_uuid(), 'amount_minor', 2500, 'currency', 'EUR')
            from generate_series(1, $1) g
            """,
            (count + 3) // 4,
        )
        await conn.execute(
            """
            insert into notification_deliveries (delivery_id, notification_event_id, channel, recipient_id,
                next_attempt_at)
            select gen_random_uuid(), e.notification_event_id, c.channel,
                   case when c.channel = 'ops' then null else gen_random_uuid() end, now() - interval '1 minute'
            from notification_events e cross join unnest($1::text[]) as c(channel)
            limit $2
            """,
            list(CHANNELS),
            count,
        )
    finally:
        await conn.close()


def worker_process(url: str, data_dir: str, barrier: Barrier, results: mp.Queue[tuple[float, int]]) -> None:
    async def body() -> None:
        settings = settings_from({"PATRONAGE_DATA_DIR": data_dir, "PATRONAGE_JWT_SECRET": "b" * 40})
        db = Database.connect(url, pool_size=2)
        channels = transports(settings)
        owner = f"bench-{uuid.uuid4().hex[:6]}"
        async with db.transaction() as session:  # connect before the clock starts
            await session.connection()
        barrier.wait()
        done = 0
        while batch := await deliver_due(db, channels, owner, datetime.now(UTC)):
            done += batch
        results.put((time.perf_counter(), done))
        await db.dispose()

    asyncio.run(body())


def run_workers(url: str, workers: int) -> tuple[float, int]:
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(workers + 1)
    results: mp.Queue[tuple[float, int]] = ctx.Queue()
    with tempfile.TemporaryDirectory() as data_dir:
        processes = [ctx.Process(target=worker_process, args=(url, data_dir, barrier, results)) for _ in range(workers)]
        for process in processes:
            process.start()
        barrier.wait()
        start = time.perf_counter()
        finished = [results.get(timeout=600) for _ in processes]
        for process in processes:
            process.join()
    return max(end for end, _ in finished) - start, sum(done for _, done in finished)


async def raw_claims(dsn: str, count: int) -> float:
    """The reference: claim and complete the same rows in the same batch size with bare SQL."""
    conn = await asyncpg.connect(dsn)
    try:
        start, claimed = time.perf_counter(), 0
        while claimed < count:
            async with conn.transaction():
                ids = await conn.fetch(
                    "select delivery_id from notification_deliveries where status = 'pending' "
                    "order by next_attempt_at limit $1 for update skip locked",
                    BATCH,
                )
                if not ids:
                    break
                await conn.execute(
                    "update notification_deliveries set status = 'delivered', delivered_at = now() "
                    "where delivery_id = any($1::uuid[])",
                    [r["delivery_id"] for r in ids],
                )
            claimed += len(ids)
        return claimed / (time.perf_counter() - start)
    finally:
        await conn.close()


async def main(count: int) -> None:
    url = start_embedded(ROOT / ".patronage" / "bench-pg", database="patronage_bench_notify")
    dsn = url.replace("postgresql+asyncpg", "postgresql")
    admin = await asyncpg.connect(dsn.replace("/patronage_bench_notify?", "/postgres?"))
    await admin.execute("drop database if exists patronage_bench_notify with (force)")
    await admin.execute("create database patronage_bench_notify")
    await admin.close()
    await asyncio.to_thread(migrate.upgrade, url)

    await fill(dsn, count)
    reference = await raw_claims(dsn, count)
    print(f"reference: raw SKIP LOCKED claims, batches of {BATCH}: {reference:,.0f} rows/s", flush=True)
    print("| workers | deliveries | seconds | deliveries/s | ratio to raw claims |\n|---|---|---|---|---|")
    for workers in (1, 2):
        await fill(dsn, count)
        seconds, done = await asyncio.to_thread(run_workers, url, workers)
        rate = done / seconds
        print(f"| {workers} | {done:,} | {seconds:.2f} | {rate:,.0f} | {rate / reference:.2f} |", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=20_000)
    asyncio.run(main(parser.parse_args().deliveries))
