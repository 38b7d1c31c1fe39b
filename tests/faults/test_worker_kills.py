"""The notification worker killed with SIGKILL at random points: nothing is lost, and each kill repeats at
most one message (the one whose outcome it had not recorded yet). Real receivers on every channel: SMTP
(aiosmtpd), the APNs stand-in (HTTP/2 over TLS), the ops webhook; in-app needs none."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import asyncpg
import pytest

from devtools.ports import free_port
from tests.api.notifications.apns_server import apns_env, apns_server, auth_key
from tests.conftest import ROOT
from tests.receivers import smtp_server, webhook_receiver

pytestmark = pytest.mark.slow

EVENTS = 500  # x 4 channels = 2,000 deliveries
KILLS = 10
SEED = int(os.environ.get("PATRONAGE_FAULT_SEED", "18"))


async def queue_deliveries(sql: asyncpg.Connection) -> None:
    """EVENTS supporters, each with an e-mail address and a push device, and one event each on all channels."""
    await sql.execute(
        """
        with users as (
            select gen_random_uuid() as user_id, g from generate_series(1, $1) g
        ), contacts as (
            insert into user_contacts (user_id, email) select user_id, 'fan' || g || '@example.org' from users
        ), devices as (
            insert into push_devices (device_id, device_token, user_id, environment)
            select gen_random_uuid(), lpad(to_hex(g), 64, '0'), user_id, 'production' from users
        ), events as (
            insert into notification_events (notification_event_id, event_type, dedupe_key, payload)
            select gen_random_uuid(), 'payment_succeeded', 'kills-' || g,
                   jsonb_build_object('type', 'payment_succeeded', 'support_id', gen_random_uuid(),
                                      'amount_minor', 2500, 'currency', 'EUR')
            from users
            returning notification_event_id, dedupe_key
        )
        insert into notification_deliveries (delivery_id, notification_event_id, channel, recipient_id)
        select gen_random_uuid(), e.notification_event_id, c.channel,
               case when c.channel = 'ops' then null else u.user_id end
        from events e join users u on e.dedupe_key = 'kills-' || u.g
        cross join unnest(array['push', 'in_app', 'email', 'ops']) as c(channel)
        """,
        EVENTS,
    )


async def kill_then_drain(
    start: Callable[[], subprocess.Popen[bytes]],
    received: Callable[[], int],
    sql: asyncpg.Connection,
    rng: random.Random,
) -> None:
    """KILLS workers, each SIGKILLed a random moment after it began delivering; then one that finishes the queue."""
    for _ in range(KILLS):
        worker, before = start(), received()
        deadline = time.monotonic() + 60
        while received() == before:
            assert time.monotonic() < deadline, "a worker never delivered"
            await asyncio.sleep(0.01)
        await asyncio.sleep(rng.uniform(0.05, 0.6))
        worker.send_signal(signal.SIGKILL)
        worker.wait(30)
    last = start()
    deadline = time.monotonic() + 60
    while await sql.fetchval("select count(*) from notification_deliveries where status <> 'delivered'"):
        # A failed attempt (a receiver busy while workers die) waits 30 s x 2^n: not what is tested here.
        await sql.execute(
            "update notification_deliveries set next_attempt_at = now() "
            "where status = 'pending' and next_attempt_at > now()"
        )
        assert last.poll() is None, "the last worker died"
        assert time.monotonic() < deadline, await sql.fetch(
            "select channel, status, attempts, left(last_error, 200) as error, count(*) "
            "from notification_deliveries where status <> 'delivered' group by 1, 2, 3, 4"
        )
        await asyncio.sleep(0.2)
    last.send_signal(signal.SIGTERM)
    last.wait(30)


async def test_ten_kills_over_two_thousand_deliveries_lose_none_and_repeat_at_most_one_each(
    client: object, sql: asyncpg.Connection, database_url: str, tmp_path: Path
) -> None:
    await queue_deliveries(sql)
    key_path, public_key = auth_key(tmp_path)
    rng = random.Random(SEED)
    async with apns_server(tmp_path, public_key) as apns:
        with smtp_server(free_port()) as mailbox, webhook_receiver() as ops:
            env = {
                **os.environ,
                **apns_env(tmp_path, key_path, apns.url),
                "SSL_CERT_FILE": str(apns.ca_file),
                "DATABASE_URL": database_url,
                "PATRONAGE_SMTP_URL": mailbox.url,
                "PATRONAGE_OPS_WEBHOOK_URL": ops.url,
            }

            workers: list[subprocess.Popen[bytes]] = []

            def start() -> subprocess.Popen[bytes]:
                command = [sys.executable, "-m", "patronage.cli", "worker", "--only", "notifications"]
                workers.append(
                    worker := subprocess.Popen(
                        [*command, "--lease-seconds", "2"],
                        cwd=ROOT,
                        env=env,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
                return worker

            def received() -> int:
                return len(apns.received) + len(mailbox.messages) + len(ops.received)

            started = time.monotonic()
            try:
                await kill_then_drain(start, received, sql, rng)
                elapsed = time.monotonic() - started
            finally:
                for worker in workers:  # none outlives the test, whatever failed
                    if worker.poll() is None:
                        worker.kill()
                    worker.wait(30)

    sent = {
        "push": Counter(push.body["delivery_id"] for push in apns.received),
        "email": Counter(str(m["X-Patronage-Delivery-Id"]) for m in mailbox.messages),
        "ops": Counter(body["delivery_id"] for body in ops.received),
    }
    queued = await sql.fetch("select delivery_id::text as id, channel, attempts from notification_deliveries")
    retried = sum(1 for r in queued if r["attempts"] > 1)
    lost = [r for r in queued if r["channel"] != "in_app" and r["id"] not in sent[r["channel"]]]
    repeats = sum(count - 1 for by_id in sent.values() for count in by_id.values())
    print(
        f"\nworker kills: {len(queued)} deliveries, {KILLS} kills, {len(lost)} lost, {repeats} repeats, "
        f"{retried} retried after a failed attempt, {elapsed:.1f} s"
    )
    assert len(queued) == 4 * EVENTS
    assert not lost
    assert repeats <= KILLS
    # Each message carried its delivery id where the receiver can drop a repeat by it.
    assert all(push.headers["apns-id"] == push.body["delivery_id"] for push in apns.received)
    assert all(m["Message-ID"] == f"<{m['X-Patronage-Delivery-Id']}@patronage.local>" for m in mailbox.messages)
    assert ops.keys == [body["delivery_id"] for body in ops.received]
