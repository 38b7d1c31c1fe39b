"""The worker's dispute job: the SLA sweep (missed clocks logged, escalated, ops notified once)."""

from __future__ import annotations

from datetime import datetime

from api.db.engine import Database
from api.db.models import Dispute
from api.disputes import repositories as repo
from api.disputes.schemas import (
    SlaClock,
)
from api.disputes.services import notice
from api.notifications import services as notifications


def missed_clocks(dispute: Dispute, now: datetime) -> list[tuple[SlaClock, datetime]]:
    """Clocks of an open dispute that passed before `now` without (or before) their stamp."""
    clocks: list[tuple[SlaClock, datetime, datetime | None]] = [
        ("ack", dispute.ack_due_at, dispute.acked_at),
        ("triage", dispute.triage_due_at, dispute.triaged_at),
        ("resolution", dispute.resolution_due_at, None),  # resolving closes the dispute: open means unresolved
    ]
    return [(clock, due) for clock, due, stamp in clocks if due < now and (stamp is None or stamp > due)]


async def sweep_sla(db: Database, now: datetime, *, limit: int = 200) -> int:
    """Log each newly missed clock of up to `limit` open disputes, escalate them, notify ops once per breach.

    Safe to run from any number of workers at once: disputes are claimed with SKIP LOCKED, and the breach
    row's key (dispute, clock) plus the notification's dedupe key make every breach report once.
    Returns the number of new breaches.
    """
    new = 0
    async with db.transaction() as session:
        for dispute in await repo.claim_due_for_breach(session, now, limit):
            for clock, due in missed_clocks(dispute, now):
                if not await repo.insert_breach(session, dispute.dispute_id, clock, due, now):
                    continue
                new += 1
                if not dispute.escalated:
                    dispute.escalated, dispute.escalation_reason = True, f"{clock} deadline missed"
                await notifications.notify(
                    session,
                    "dispute_sla_breach",
                    dedupe_key=f"{dispute.dispute_id}:{clock}",
                    payload={**notice(dispute), "clock": clock, "due_at": due.isoformat()},
                    recipients={},
                    now=now,
                )
    return new
