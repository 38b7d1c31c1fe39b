"""The worker's delivery step: lease due deliveries, send them, record each outcome.

At least once: a lease (not a held transaction) marks a delivery as being sent, so sending happens
outside any transaction; a worker killed mid-send leaves its leases to expire and another worker
sends again. Recipients drop the duplicate by delivery id (email Message-ID / header, the ops
webhook's Idempotency-Key, APNs's apns-id in the push's data). Outcomes are recorded only by the
lease's owner; the final APNs answer of each device (receipts) is recorded by whoever got it, so a
retried push goes only to the devices that have none yet.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from api.db.engine import Database
from api.notifications import repositories as repo
from api.notifications.channels import DeliveryFailed, Outgoing, PushDevice, Receipt, Transport
from api.notifications.matrix import BACKOFF_BASE_SECONDS, MAX_ATTEMPTS, Channel

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
BATCH = 200
CONCURRENCY = 32


async def deliver_due(
    db: Database,
    transports: Mapping[Channel, Transport],
    owner: str,
    now: datetime,
    *,
    batch: int = BATCH,
    lease: timedelta = LEASE,
) -> int:
    """Send one batch of due deliveries; answers how many were attempted."""
    async with db.transaction() as session:
        rows = await repo.claim(session, owner, now, now + lease, batch)
    if not rows:
        return 0
    gate = asyncio.Semaphore(CONCURRENCY)

    async def attempt(row: dict[str, Any]) -> tuple[uuid.UUID, DeliveryFailed | None, tuple[Receipt, ...]]:
        message = outgoing(row)
        async with gate:
            try:
                receipts = await transports[message.channel].send(message)
            except DeliveryFailed as exc:
                return message.delivery_id, exc, exc.receipts
            except Exception as exc:  # a transport bug must not lose the delivery: retry it
                log.exception("delivery %s crashed in its %s transport", message.delivery_id, message.channel)
                return message.delivery_id, DeliveryFailed(f"{type(exc).__name__}: {exc}"), ()
        return message.delivery_id, None, receipts or ()

    results = await asyncio.gather(*(attempt(row) for row in rows))
    done = [delivery_id for delivery_id, failure, _ in results if failure is None]
    failed = [(delivery_id, str(f), f.permanent) for delivery_id, f, _ in results if f is not None]
    answers = [
        (delivery_id, r.device_id, r.status, r.reason, r.gone, r.gone_since)
        for delivery_id, _, receipts in results
        for r in receipts
    ]
    async with db.transaction() as session:
        await repo.record_receipts(session, answers, now)
        await repo.mark_delivered(session, owner, done, now)
        await repo.mark_failed(
            session, owner, failed, now, base_seconds=BACKOFF_BASE_SECONDS, max_attempts=MAX_ATTEMPTS
        )
    for delivery_id, error, _ in failed:
        log.warning("delivery %s failed: %s", delivery_id, error)
    return len(rows)


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
