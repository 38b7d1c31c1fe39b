"""Disputes as the provider reports them (opening, closing, journal entries) and as ops handle them.

SLA clocks (api.md "Disputes") are fixed when the dispute row is created, from the provider's
`created`; ops stamp acknowledgement and triage; `sweep_sla` logs missed clocks once each, escalates
and notifies ops.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, cast

from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import Principal, Role
from api.db.models import Dispute, DisputeRecoveryAttempt, DisputeSlaBreach, Support
from api.disputes import repositories as repo
from api.disputes.schemas import (
    BreachRead,
    DisputePage,
    DisputeRead,
    DisputeStatus,
    RecoveryAttemptCreate,
    RecoveryAttemptRead,
    RecoveryMethod,
    SlaClock,
    SlaRead,
)
from api.errors import Conflict, NotFound
from api.events.landing import land_server_event, server_event
from api.journal import repositories as journal_repo
from api.journal import services as journal
from api.journal.chart import Cause
from api.notifications import services as notifications
from api.pagination import decode_cursor, trim_page
from api.settings import DisputeSettings

# Resolution is due a day before Stripe's evidence deadline (time to submit), or a week in when it gives none.
EVIDENCE_MARGIN = timedelta(hours=24)
RESOLUTION_FALLBACK = timedelta(days=7)


class DisputeNotFound(NotFound):
    """api.md lists no code of its own for this 404: the general `not_found`."""


class DisputeClosed(Conflict):
    code = "dispute_closed"


@dataclass(frozen=True)
class ProviderDispute:
    """The fields of a Stripe dispute object we rely on."""

    provider_dispute_id: str
    amount_minor: int
    currency: str
    reason: str | None
    created: datetime
    evidence_due_by: datetime | None


@dataclass(frozen=True)
class Clocks:
    ack_due_at: datetime
    triage_due_at: datetime
    resolution_due_at: datetime


def sla_clocks(created: datetime, evidence_due_by: datetime | None, policy: DisputeSettings) -> Clocks:
    return Clocks(
        ack_due_at=created + timedelta(hours=policy.ack_hours),
        triage_due_at=created + timedelta(hours=policy.triage_hours),
        resolution_due_at=evidence_due_by - EVIDENCE_MARGIN if evidence_due_by else created + RESOLUTION_FALLBACK,
    )


def amount_escalation(amount_minor: int, policy: DisputeSettings) -> str | None:
    if amount_minor >= policy.escalation_minor:
        return f"amount {amount_minor} >= escalation threshold {policy.escalation_minor}"
    return None


async def open_dispute(
    session: AsyncSession,
    support: Support,
    data: ProviderDispute,
    *,
    provider_event_id: str,
    policy: DisputeSettings,
    now: datetime,
) -> Dispute:
    """The dispute row (SLA clocks started) and its `dispute_open` entry, once, whichever event arrives first."""
    dispute = await repo.by_provider_id(session, data.provider_dispute_id)
    if dispute is None:
        clocks = sla_clocks(data.created, data.evidence_due_by, policy)
        escalation = amount_escalation(data.amount_minor, policy)
        dispute = Dispute(
            dispute_id=uuid.uuid4(),
            provider_dispute_id=data.provider_dispute_id,
            support_id=support.support_id,
            project_id=support.project_id,
            status="open",
            reason=data.reason,
            amount_minor=data.amount_minor,
            currency=data.currency,
            evidence_due_by=data.evidence_due_by,
            provider_created_at=data.created,
            ack_due_at=clocks.ack_due_at,
            triage_due_at=clocks.triage_due_at,
            resolution_due_at=clocks.resolution_due_at,
            escalated=escalation is not None,
            escalation_reason=escalation,
        )
        await repo.add(session, dispute)
    posted = await journal.post(
        session,
        "dispute_open",
        _cause("dispute_open", dispute, support, data.created, provider_event_id),
        dispute.amount_minor,
        dispute.currency,
    )
    if posted:
        await land_server_event(
            session,
            server_event(
                "dispute_opened",
                cause=data.provider_dispute_id,
                occurred_at=data.created,
                user_id=support.supporter_id,
                project_id=support.project_id,
                properties={
                    "dispute_id": str(dispute.dispute_id),
                    "support_id": str(support.support_id),
                    "amount_minor": dispute.amount_minor,
                    "currency": dispute.currency,
                },
            ),
        )
        await notifications.notify(
            session,
            "dispute_opened",
            dedupe_key=dispute.provider_dispute_id,
            payload=notice(dispute),
            recipients=await notifications.project_audience(session, dispute.project_id),
            now=now,
        )
    return dispute


async def close_dispute(
    session: AsyncSession,
    support: Support,
    data: ProviderDispute,
    outcome: Literal["won", "lost"],
    *,
    closed_at: datetime,
    provider_event_id: str,
    policy: DisputeSettings,
    now: datetime,
) -> Dispute:
    dispute = await open_dispute(session, support, data, provider_event_id=provider_event_id, policy=policy, now=now)
    if dispute.status == "open":
        dispute.status = outcome
        dispute.closed_at = closed_at
        dispute.resolved_at = closed_at
    cause = _cause("dispute_close", dispute, support, closed_at, provider_event_id)
    posted = await journal.post(
        session,
        "dispute_close_won" if dispute.status == "won" else "dispute_close_lost",
        cause,
        dispute.amount_minor,
        dispute.currency,
    )
    if posted:
        await land_server_event(
            session,
            server_event(
                "dispute_closed",
                cause=data.provider_dispute_id,
                occurred_at=closed_at,
                user_id=support.supporter_id,
                project_id=support.project_id,
                properties={"dispute_id": str(dispute.dispute_id), "outcome": dispute.status},
            ),
        )
    return dispute


async def true_up_losses(
    session: AsyncSession, support: Support, disputes: list[Dispute], *, at: datetime, provider_event_id: str
) -> None:
    """A lost dispute debits the creator's payable; the part the payable cannot cover is the platform's loss.

    Re-evaluated after every event for the support, because events that reduce the payable (a refund
    that happened before the dispute) may arrive after the dispute closed: the booked loss then
    grows to what it would have been in provider order, and `creator_payable` never shows the
    creator owing money.
    """
    for dispute in disputes:
        if dispute.status != "lost":
            continue
        booked = await journal_repo.loss_booked(session, dispute.dispute_id)
        balance = await journal_repo.account_balance(session, "creator_payable", support.project_id, dispute.currency)
        uncovered = min(max(balance, 0), dispute.amount_minor - booked)
        if uncovered > 0:
            cause = _cause("loss_booking", dispute, support, at, provider_event_id)
            await journal.post(
                session,
                "loss_booking",
                Cause(**{**cause.__dict__, "key": f"{cause.key}:{booked + uncovered}"}),
                uncovered,
                dispute.currency,
            )


def _cause(kind: str, dispute: Dispute, support: Support, at: datetime, provider_event_id: str) -> Cause:
    return Cause(
        key=f"{kind}:{dispute.provider_dispute_id}",
        occurred_at=at,
        project_id=support.project_id,
        support_id=support.support_id,
        dispute_id=dispute.dispute_id,
        provider_event_id=provider_event_id,
        provider_object_id=dispute.provider_dispute_id,
    )


def notice(dispute: Dispute) -> dict[str, object]:
    """What a dispute notification carries (JSON-ready)."""
    return {
        "dispute_id": str(dispute.dispute_id),
        "support_id": str(dispute.support_id),
        "project_id": str(dispute.project_id),
        "amount_minor": dispute.amount_minor,
        "currency": dispute.currency,
        "reason": dispute.reason,
        "evidence_due_by": dispute.evidence_due_by.isoformat() if dispute.evidence_due_by else None,
        "escalated": dispute.escalated,
    }


# --- ops routes -------------------------------------------------------------------------------


async def read(session: AsyncSession, viewer: Principal, dispute_id: uuid.UUID) -> DisputeRead:
    """Ops read any dispute; a creator reads (only) their own projects' disputes."""
    viewer.require(Role.ops, Role.creator)
    dispute = await repo.get(session, dispute_id)
    if dispute is None or (
        not viewer.is_ops and await repo.project_creator(session, dispute.project_id) != viewer.user_id
    ):
        raise DisputeNotFound("Dispute not found.")
    return (await _documents(session, [dispute]))[0]


async def page(
    session: AsyncSession, *, status: DisputeStatus | None, escalated: bool | None, cursor: str | None, limit: int
) -> DisputePage:
    rows = await repo.page(session, status=status, escalated=escalated, after=decode_cursor(cursor), limit=limit + 1)
    items, next_cursor = trim_page(rows, limit, lambda dispute: (dispute.provider_created_at, dispute.dispute_id))
    return DisputePage(items=await _documents(session, items), next_cursor=next_cursor)


async def acknowledge(session: AsyncSession, actor: Principal, dispute_id: uuid.UUID, now: datetime) -> DisputeRead:
    """Stamp the acknowledgement once; repeating answers the same document with the first stamp."""
    dispute = await _open_for_ops(session, dispute_id)
    _stamp_ack(dispute, actor, now)
    return (await _documents(session, [dispute]))[0]


async def triage(session: AsyncSession, actor: Principal, dispute_id: uuid.UUID, now: datetime) -> DisputeRead:
    """Stamp triage once; triaging an unacknowledged dispute acknowledges it too (triage implies it was seen)."""
    dispute = await _open_for_ops(session, dispute_id)
    _stamp_ack(dispute, actor, now)
    if dispute.triaged_at is None:
        dispute.triaged_at, dispute.triaged_by = now, actor.user_id
    return (await _documents(session, [dispute]))[0]


async def add_recovery_attempt(
    session: AsyncSession, actor: Principal, dispute_id: uuid.UUID, data: RecoveryAttemptCreate, now: datetime
) -> RecoveryAttemptRead:
    """Evidence goes to an open dispute; clawing back from the creator or contacting the supporter is
    what recovery means after a lost one, so those are taken whatever the dispute's status."""
    if data.method == "evidence_submission":
        dispute = await _open_for_ops(session, dispute_id)
    else:
        found = await repo.get(session, dispute_id, for_update=True)
        if found is None:
            raise DisputeNotFound("Dispute not found.")
        dispute = found
    attempt = await repo.add_recovery_attempt(
        session,
        DisputeRecoveryAttempt(
            attempt_id=uuid.uuid4(),
            dispute_id=dispute.dispute_id,
            method=data.method,
            amount_minor=data.amount_minor,
            note=data.note,
            created_by=actor.user_id,
            created_at=now,
        ),
    )
    return _attempt_read(attempt)


async def _open_for_ops(session: AsyncSession, dispute_id: uuid.UUID) -> Dispute:
    """The dispute, locked against a concurrent close; 404 if unknown, 409 once the provider closed it."""
    dispute = await repo.get(session, dispute_id, for_update=True)
    if dispute is None:
        raise DisputeNotFound("Dispute not found.")
    if dispute.status != "open":
        raise DisputeClosed(f"The dispute is closed ({dispute.status}); it takes no more actions.")
    return dispute


def _stamp_ack(dispute: Dispute, actor: Principal, now: datetime) -> None:
    if dispute.acked_at is None:
        dispute.acked_at, dispute.acked_by = now, actor.user_id


async def _documents(session: AsyncSession, disputes: list[Dispute]) -> list[DisputeRead]:
    """The read documents of `disputes`, with breaches and attempts fetched in one query each."""
    ids = [d.dispute_id for d in disputes]
    breaches: dict[uuid.UUID, list[DisputeSlaBreach]] = defaultdict(list)
    attempts: dict[uuid.UUID, list[DisputeRecoveryAttempt]] = defaultdict(list)
    if ids:
        for breach in await repo.breaches(session, ids):
            breaches[breach.dispute_id].append(breach)
        for attempt in await repo.recovery_attempts(session, ids):
            attempts[attempt.dispute_id].append(attempt)
    return [
        DisputeRead(
            dispute_id=d.dispute_id,
            support_id=d.support_id,
            project_id=d.project_id,
            provider_dispute_id=d.provider_dispute_id,
            status=cast(DisputeStatus, d.status),  # the column's check constraint
            reason=d.reason,
            amount_minor=d.amount_minor,
            currency=d.currency,
            evidence_due_by=d.evidence_due_by,
            sla=SlaRead(
                ack_due_at=d.ack_due_at,
                acked_at=d.acked_at,
                triage_due_at=d.triage_due_at,
                triaged_at=d.triaged_at,
                resolution_due_at=d.resolution_due_at,
                resolved_at=d.resolved_at,
                breaches=[BreachRead(cast(SlaClock, b.clock), b.due_at, b.detected_at) for b in breaches[d.dispute_id]],
            ),
            escalated=d.escalated,
            escalation_reason=d.escalation_reason,
            recovery_attempts=[_attempt_read(a) for a in attempts[d.dispute_id]],
        )
        for d in disputes
    ]


def _attempt_read(a: DisputeRecoveryAttempt) -> RecoveryAttemptRead:
    return RecoveryAttemptRead(
        attempt_id=a.attempt_id,
        dispute_id=a.dispute_id,
        method=cast(RecoveryMethod, a.method),  # the column's check constraint
        amount_minor=a.amount_minor,
        note=a.note,
        created_by=a.created_by,
        created_at=a.created_at,
    )
