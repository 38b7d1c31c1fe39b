"""`patronage worker`: the background loops of the API's domains, in one process.

Each loop is a step (`now -> how much work it did`) run again at once while it finds work and after
its interval when idle. Every step claims its rows with `FOR UPDATE SKIP LOCKED` (and deliveries
with leases), so any number of workers can run side by side and a killed worker's claims come back.
SIGTERM/SIGINT stop the loops after their current step: nothing is abandoned half-done.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from api.db.engine import Database
from api.db.failures import is_connection_failure
from api.disputes.jobs import sweep_sla
from api.journal.jobs import sync_provider_fees
from api.notifications.channels import Transport, transports
from api.notifications.jobs import LEASE, deliver_due
from api.notifications.matrix import Channel
from api.payments.gateway import PaymentGateway
from api.payouts.jobs import release_due
from api.settings import Settings
from api.supports.services import expire_due
from api.uploads.jobs import process_uploads, purge_abandoned, time_out_uploads
from api.uploads.storage import storage_from

log = logging.getLogger(__name__)

Step = Callable[[datetime], Awaitable[int]]
MAX_RETRY_SECONDS = 60.0


@dataclass(frozen=True)
class Loop:
    name: str
    interval_seconds: float
    step: Step


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def build_loops(
    db: Database,
    settings: Settings,
    owner: str,
    channels: dict[Channel, Transport],
    gateway: PaymentGateway,
    *,
    lease: timedelta = LEASE,
    stop: asyncio.Event | None = None,
) -> list[Loop]:
    """Every loop the worker runs, with its cadence. A batch of deliveries stops between two sends once `stop`
    is set (what is left goes back to the queue), so a stopping worker waits for one send, not a batch."""

    async def notifications(now: datetime) -> int:
        return await deliver_due(db, channels, owner, now, lease=lease, stopping=stop.is_set if stop else None)

    async def payout_release(now: datetime) -> int:
        return await release_due(db, gateway, now, country=settings.payout_country)

    async def dispute_sla(now: datetime) -> int:
        return await sweep_sla(db, now)

    async def provider_fees(now: datetime) -> int:
        return await sync_provider_fees(db, gateway, now)

    storage = storage_from(settings)

    async def upload_processing(now: datetime) -> int:
        return await process_uploads(db, storage, now)

    async def upload_timeouts(now: datetime) -> int:
        return await time_out_uploads(db, now)

    async def upload_purge(now: datetime) -> int:
        return await purge_abandoned(db, storage, now)

    async def support_expiry(now: datetime) -> int:
        async with db.transaction() as session:
            return await expire_due(session, now)

    return [
        Loop("notifications", 0.5, notifications),
        Loop("payout_release", 30, payout_release),
        Loop("dispute_sla", 30, dispute_sla),
        Loop("provider_fees", 10, provider_fees),
        Loop("upload_processing", 2, upload_processing),
        Loop("upload_timeouts", 60, upload_timeouts),
        Loop("upload_purge", 600, upload_purge),
        Loop("support_expiry", 60, support_expiry),
    ]


def retry_delay(interval_seconds: float, failures: int) -> float:
    """Seconds before a failing loop tries again: its interval, doubled per consecutive failure,
    up to a minute (or the interval, if longer), so an outage is not hammered twice a second."""
    backoff: float = interval_seconds * 2.0 ** max(failures - 1, 0)
    return min(backoff, max(interval_seconds, MAX_RETRY_SECONDS))


async def run_loop(loop: Loop, stop: asyncio.Event) -> None:
    """Run `loop` until `stop`: again at once while it finds work, after its interval when idle,
    later and later while it fails."""
    failures = 0
    while not stop.is_set():
        try:
            done = await loop.step(datetime.now(UTC))
            failures = 0
        except Exception as exc:  # a failing loop must not take the others down; its work stays claimable
            failures += 1
            delay = retry_delay(loop.interval_seconds, failures)
            if is_connection_failure(exc):  # an outage: one line per attempt, no stack trace
                log.warning("worker loop %s: database unavailable (%s); retrying in %gs", loop.name, exc, delay)
            else:
                log.exception("worker loop %s failed (%d in a row); retrying in %gs", loop.name, failures, delay)
            done = 0
        else:
            delay = loop.interval_seconds
        if done:
            log.debug("worker loop %s handled %d", loop.name, done)
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)


async def drain(loops: Sequence[Loop]) -> None:
    """`--once`: run every loop in turn until a whole round finds no work (one loop's work may create
    another's, e.g. a processed upload queues its notification); a failure is raised."""
    while True:
        done = 0
        for loop in loops:
            while handled := await loop.step(datetime.now(UTC)):
                done += handled
        if not done:
            return


async def run_worker(
    settings: Settings,
    database_url: str,
    *,
    once: bool = False,
    only: Sequence[str] = (),
    lease: timedelta = LEASE,
    stop: asyncio.Event | None = None,
) -> None:
    """The worker process's body: connect, run the loops, stop cleanly on SIGTERM/SIGINT."""
    stop = stop or asyncio.Event()
    owner = worker_id()
    running = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        # Not possible off the main thread (tests run workers in threads and stop them by `stop`).
        with contextlib.suppress(NotImplementedError, RuntimeError):
            running.add_signal_handler(sig, stop.set)
    db = Database.connect(database_url, pool_size=8)  # a connection for each loop at once, and some to spare
    channels = transports(settings)
    loops = build_loops(db, settings, owner, channels, PaymentGateway(settings.stripe), lease=lease, stop=stop)
    if only:
        loops = [loop for loop in loops if loop.name in only]
    log.info("worker %s running %s", owner, ", ".join(loop.name for loop in loops))
    try:
        if once:
            await drain(loops)
        else:
            await asyncio.gather(*(run_loop(loop, stop) for loop in loops))
    finally:
        for channel in channels.values():
            await channel.close()
        await db.dispose()
        log.info("worker %s stopped", owner)
