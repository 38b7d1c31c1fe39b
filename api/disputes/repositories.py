"""Every SQL query of the disputes domain."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, or_, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.db.models import Dispute, DisputeRecoveryAttempt, DisputeSlaBreach
from api.pagination import Position


async def by_provider_id(session: AsyncSession, provider_dispute_id: str) -> Dispute | None:
    query = select(Dispute).where(Dispute.provider_dispute_id == provider_dispute_id).with_for_update()
    return (await session.scalars(query)).first()


async def add(session: AsyncSession, dispute: Dispute) -> None:
    session.add(dispute)
    await session.flush()


async def get(session: AsyncSession, dispute_id: uuid.UUID, *, for_update: bool = False) -> Dispute | None:
    query = select(Dispute).where(Dispute.dispute_id == dispute_id)
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).first()


async def project_creator(session: AsyncSession, project_id: uuid.UUID) -> uuid.UUID | None:
    value = await session.scalar(text("select creator_id from projects where project_id = :p"), {"p": project_id})
    return value if value is None or isinstance(value, uuid.UUID) else uuid.UUID(str(value))


async def breaches(session: AsyncSession, dispute_ids: Sequence[uuid.UUID]) -> list[DisputeSlaBreach]:
    query = (
        select(DisputeSlaBreach)
        .where(DisputeSlaBreach.dispute_id.in_(dispute_ids))
        .order_by(DisputeSlaBreach.due_at, DisputeSlaBreach.clock)
    )
    return list((await session.scalars(query)).all())


async def recovery_attempts(session: AsyncSession, dispute_ids: Sequence[uuid.UUID]) -> list[DisputeRecoveryAttempt]:
    query = (
        select(DisputeRecoveryAttempt)
        .where(DisputeRecoveryAttempt.dispute_id.in_(dispute_ids))
        .order_by(DisputeRecoveryAttempt.created_at, DisputeRecoveryAttempt.attempt_id)
    )
    return list((await session.scalars(query)).all())


async def add_recovery_attempt(session: AsyncSession, attempt: DisputeRecoveryAttempt) -> DisputeRecoveryAttempt:
    session.add(attempt)
    await session.flush()
    return attempt


async def page(
    session: AsyncSession, *, status: str | None, escalated: bool | None, after: Position | None, limit: int
) -> list[Dispute]:
    """Oldest opened first (the ops queue order), keyset on (provider_created_at, dispute_id)."""
    query = select(Dispute)
    if status is not None:
        query = query.where(Dispute.status == status)
    if escalated is not None:
        query = query.where(Dispute.escalated.is_(escalated))
    if after is not None:
        query = query.where(
            or_(
                Dispute.provider_created_at > after.at,
                and_(Dispute.provider_created_at == after.at, Dispute.dispute_id > after.id),
            )
        )
    query = query.order_by(Dispute.provider_created_at, Dispute.dispute_id).limit(limit)
    return list((await session.scalars(query)).all())


# Open disputes with a clock that passed unstamped (or stamped late) and not yet logged as breached;
# SKIP LOCKED so concurrent sweepers (and webhooks closing a dispute) never wait on or double up a row.
_DUE_FOR_BREACH = text(
    """
    select d.* from disputes d
    where d.status = 'open'
      and exists (
          select 1
          from (values ('ack', d.ack_due_at, d.acked_at),
                       ('triage', d.triage_due_at, d.triaged_at),
                       ('resolution', d.resolution_due_at, null)) as c (clock, due_at, stamped_at)
          where c.due_at < :now and coalesce(c.stamped_at, :now) > c.due_at
            and not exists (select 1 from dispute_sla_breaches b
                            where b.dispute_id = d.dispute_id and b.clock = c.clock))
    order by d.provider_created_at, d.dispute_id
    limit :limit
    for update of d skip locked
    """
)


async def claim_due_for_breach(session: AsyncSession, now: datetime, limit: int) -> list[Dispute]:
    query = select(Dispute).from_statement(_DUE_FOR_BREACH)
    return list((await session.scalars(query, {"now": now, "limit": limit})).all())


async def insert_breach(
    session: AsyncSession, dispute_id: uuid.UUID, clock: str, due_at: datetime, detected_at: datetime
) -> bool:
    """The breach row, once per dispute and clock. True if this call inserted it."""
    inserted = await session.scalar(
        insert(DisputeSlaBreach)
        .values(dispute_id=dispute_id, clock=clock, due_at=due_at, detected_at=detected_at)
        .on_conflict_do_nothing(index_elements=[DisputeSlaBreach.dispute_id, DisputeSlaBreach.clock])
        .returning(DisputeSlaBreach.clock)
    )
    return inserted is not None
