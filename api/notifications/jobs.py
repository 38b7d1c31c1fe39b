"""The worker's delivery step: lease due deliveries, send them, record each outcome.

At least once: a lease (not a held transaction) marks a delivery as being sent, so sending happens
outside any transaction; a worker killed mid-send leaves its leases to expire and another worker
sends again. Recipients drop the duplicate by delivery id (email Message-ID / header, the ops
webhook's Idempotency-Key). Outcomes are recorded only by the lease's owner.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from dataclasses import fields
from datetime import datetime, timedelta
from typing import Any

from api.db.engine import Database
from api.notifications import repositories as repo
from api.notifications.channels import DeliveryFailed, Outgoing, Transport
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

    async def attempt(row: dict[str, Any]) -> tuple[uuid.UUID, DeliveryFailed | None]:
        message = Outgoing(**{f.name: row[f.name] for f in fields(Outgoing)})  # the claim returns each field
        async with gate:
            try:
                await transports[message.channel].send(message)
            except DeliveryFailed as exc:
                return message.delivery_id, exc
            except Exception as exc:  # a transport bug must not lose the delivery: retry it
                log.exception("delivery %s crashed in its %s transport", message.delivery_id, message.channel)
                return message.delivery_id, DeliveryFailed(f"{type(exc).__name__}: {exc}")
        return message.delivery_id, None

    results = await asyncio.gather(*(attempt(row) for row in rows))
    done = [delivery_id for delivery_id, failure in results if failure is None]
    failed = [(delivery_id, str(f), f.permanent) for delivery_id, f in results if f is not None]
    async with db.transaction() as session:
        await repo.mark_delivered(session, owner, done, now)
        await repo.mark_failed(
            session, owner, failed, now, base_seconds=BACKOFF_BASE_SECONDS, max_attempts=MAX_ATTEMPTS
        )
    for delivery_id, error, _ in failed:
        log.warning("delivery %s failed: %s", delivery_id, error)
    return len(rows)
