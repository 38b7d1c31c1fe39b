"""The worker's delivery step: lease due deliveries, send them one at a time, record each outcome at once.

At least once: a lease (not a held transaction) marks a delivery as being sent, so sending happens
outside any transaction; a worker killed mid-send leaves its leases to expire and another worker
sends again. Each outcome is committed as soon as its send returns, before the next send begins, so
a worker killed at any point has sent at most one message whose outcome it did not record: the one
repeat a crash can cause, which recipients drop by delivery id (email Message-ID / header, the ops
webhook's Idempotency-Key, APNs's apns-id and the push's `delivery_id`). Workers add throughput by
running side by side (SKIP LOCKED), not by sending concurrently. Outcomes are recorded only by the
lease's owner; the final APNs answer of each device (receipts) is recorded by whoever got it, so a
retried push goes only to the devices that have none yet.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from api.db.engine import Database
from api.notifications import repositories as repo
from api.notifications.channels import DeliveryFailed, Outgoing, PushDevice, Receipt, Transport
from api.notifications.matrix import BACKOFF_BASE_SECONDS, MAX_ATTEMPTS, Channel

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
BATCH = 200
SENDING_SHARE_OF_LEASE = 0.5  # no send begins in the lease's second half: a send begun late could outlive the lease


async def deliver_due(
    db: Database,
    transports: Mapping[Channel, Transport],
    owner: str,
    now: datetime,
    *,
    batch: int = BATCH,
    lease: timedelta = LEASE,
    stopping: Callable[[], bool] | None = None,
) -> int:
    """Send one batch of due deliveries; answers how many were attempted.

    In-app deliveries are the inbox itself (nothing leaves), so they are marked in one statement. The
    others are sent one after another, each outcome committed before the next send; those not begun
    within the lease's sending share, or once `stopping()` (the worker is asked to stop), go back to the
    queue unattempted, for this or another worker."""
    async with db.transaction() as session:
        rows = await repo.claim(session, owner, now, now + lease, batch)
    if not rows:
        return 0
    in_app = [row["delivery_id"] for row in rows if row["channel"] == "in_app"]
    if in_app:
        async with db.transaction() as session:
            await repo.mark_delivered(session, owner, in_app, now)
    clock = asyncio.get_running_loop()
    stop_sending = clock.time() + lease.total_seconds() * SENDING_SHARE_OF_LEASE
    leaving = [row for row in rows if row["channel"] != "in_app"]
    for index, row in enumerate(leaving):
        if clock.time() >= stop_sending or (stopping is not None and stopping()):
            async with db.transaction() as session:
                await repo.release(session, owner, [r["delivery_id"] for r in leaving[index:]])
            return len(in_app) + index
        message = outgoing(row)
        failure, receipts = await _send(transports[message.channel], message)
        await _record(db, owner, message.delivery_id, failure, receipts, now)
    return len(rows)


async def _send(transport: Transport, message: Outgoing) -> tuple[DeliveryFailed | None, tuple[Receipt, ...]]:
    try:
        receipts = await transport.send(message)
    except DeliveryFailed as exc:
        return exc, exc.receipts
    except Exception as exc:  # a transport bug must not lose the delivery: retry it
        log.exception("delivery %s crashed in its %s transport", message.delivery_id, message.channel)
        return DeliveryFailed(f"{type(exc).__name__}: {exc}"), ()
    return None, receipts or ()


async def _record(
    db: Database,
    owner: str,
    delivery_id: uuid.UUID,
    failure: DeliveryFailed | None,
    receipts: tuple[Receipt, ...],
    now: datetime,
) -> None:
    """One delivery's outcome and its devices' answers, in one unit of work."""
    answers = [(delivery_id, r.device_id, r.status, r.reason, r.gone, r.gone_since) for r in receipts]
    if failure is None and not answers:  # most outcomes: sent, with no device answers to keep
        async with db.transaction() as session:
            await repo.record_delivered_at_once(session, owner, delivery_id, now)
        return
    async with db.transaction() as session:
        await repo.outcome_without_waiting_for_disk(session)
        await repo.record_receipts(session, answers, now)
        if failure is None:
            await repo.mark_delivered(session, owner, [delivery_id], now)
        else:
            failed = [(delivery_id, str(failure), failure.permanent)]
            await repo.mark_failed(
                session, owner, failed, now, base_seconds=BACKOFF_BASE_SECONDS, max_attempts=MAX_ATTEMPTS
            )
    if failure is not None:
        log.warning("delivery %s failed: %s", delivery_id, failure)


def outgoing(row: Mapping[str, Any]) -> Outgoing:
    """The message of a claimed row (`repositories.claim` returns each field)."""
    devices = tuple(
        PushDevice(uuid.UUID(str(d["device_id"])), d["token"], d["environment"]) for d in row["devices"] or ()
    )
    return Outgoing(
        delivery_id=row["delivery_id"],
        channel=row["channel"],
        event_type=row["event_type"],
        payload=row["payload"],
        recipient_id=row["recipient_id"],
        email=row["email"],
        push_token=row["push_token"],
        devices=devices,
        pushed=row["pushed"],
    )
