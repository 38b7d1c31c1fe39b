"""`patronage worker` as a real process: killed mid-delivery, the delivery still arrives exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import JWT_SECRET, ROOT
from tests.receivers import webhook_receiver

pytestmark = pytest.mark.slow


@pytest.fixture
def start_worker(database_url: str, tmp_path: Path) -> Iterator[object]:
    started: list[subprocess.Popen[bytes]] = []

    def start(ops_url: str, *args: str) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "PATRONAGE_JWT_SECRET": JWT_SECRET,
            "PATRONAGE_DATA_DIR": str(tmp_path),
            "PATRONAGE_OPS_WEBHOOK_URL": ops_url,
        }
        command = [
            sys.executable,
            "-m",
            "patronage.cli",
            "worker",
            "--only",
            "notifications",
            "--lease-seconds",
            "2",
            *args,
        ]
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(30)


async def queue_ops_alert(sql: asyncpg.Connection) -> uuid.UUID:
    event_id, delivery_id = uuid.uuid4(), uuid.uuid4()
    await sql.execute(
        "insert into notification_events (notification_event_id, event_type, dedupe_key, payload) "
        "values ($1, 'dispute_sla_breach', $2, '{\"clock\": \"ack\"}')",
        event_id,
        f"kill-test-{event_id}",
    )
    await sql.execute(
        "insert into notification_deliveries (delivery_id, notification_event_id, channel) values ($1, $2, 'ops')",
        delivery_id,
        event_id,
    )
    return delivery_id


async def test_a_killed_worker_s_delivery_is_completed_once_by_another(
    client: object, sql: asyncpg.Connection, start_worker: object
) -> None:
    delivery_id = await queue_ops_alert(sql)
    with webhook_receiver(hang=1) as receiver:
        first = start_worker(receiver.url)  # type: ignore[operator]
        assert receiver.got_one.wait(60), "the first worker never sent the alert"
        first.kill()  # SIGKILL mid-delivery: no outcome recorded, the lease stays
        first.wait(30)
        row = await sql.fetchrow("select status, lease_owner from notification_deliveries")
        assert row["status"] == "pending"
        assert row["lease_owner"] is not None

        await asyncio.sleep(2.2)  # the lease expires
        second = start_worker(receiver.url, "--once")  # type: ignore[operator]
        output = second.communicate(timeout=120)[0].decode()
        assert second.returncode == 0, output

    assert [body["delivery_id"] for body in receiver.received] == [str(delivery_id)] * 2  # at least once…
    assert list(receiver.unique) == [str(delivery_id)]  # …exactly once for a recipient deduplicating by id
    assert set(receiver.keys) == {str(delivery_id)}
    row = await sql.fetchrow("select status, attempts from notification_deliveries")
    assert (row["status"], row["attempts"]) == ("delivered", 1)


async def test_sigterm_stops_the_worker_cleanly(client: object, sql: asyncpg.Connection, start_worker: object) -> None:
    with webhook_receiver() as receiver:
        worker = start_worker(receiver.url)  # type: ignore[operator]
        await queue_ops_alert(sql)
        deadline = time.monotonic() + 60
        while not receiver.received:
            assert time.monotonic() < deadline, "the worker never delivered"
            await asyncio.sleep(0.1)
        worker.send_signal(signal.SIGTERM)
        output = worker.communicate(timeout=30)[0].decode()
    assert worker.returncode == 0, output
    assert "stopped" in output
    assert await sql.fetchval("select status from notification_deliveries") == "delivered"


async def test_a_worker_killed_mid_batch_sends_at_most_one_message_again(
    client: object, sql: asyncpg.Connection, start_worker: object
) -> None:
    """Issue 18: outcomes were recorded once per batch of 200, so a kill repeated every message sent so
    far in the batch; each outcome is now committed before the next send, leaving one message in doubt."""
    queued = {str(await queue_ops_alert(sql)) for _ in range(120)}
    with webhook_receiver() as receiver:
        first = start_worker(receiver.url)  # type: ignore[operator]
        deadline = time.monotonic() + 60
        while len(receiver.received) < 40:
            assert time.monotonic() < deadline, "the first worker did not get far into its batch"
            await asyncio.sleep(0.005)
        first.send_signal(signal.SIGKILL)
        first.wait(30)
        await asyncio.sleep(2.2)  # its leases expire
        second = start_worker(receiver.url, "--once")  # type: ignore[operator]
        output = second.communicate(timeout=120)[0].decode()
        assert second.returncode == 0, output

    assert set(receiver.unique) == queued  # none lost
    assert len(receiver.received) - len(queued) <= 1  # at most the one in flight when the worker died
    assert set(receiver.keys) == queued  # each carries its delivery id as Idempotency-Key
    assert await sql.fetchval("select count(*) from notification_deliveries where status <> 'delivered'") == 0
