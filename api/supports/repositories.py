"""Every SQL query of the supports domain."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import hot
from api.db.models import Dispute, Support, SupportStatusHistory


async def add(session: AsyncSession, support: Support) -> None:
    session.add(support)
    await session.flush()


async def get(session: AsyncSession, support_id: uuid.UUID, *, for_update: bool = False) -> Support | None:
    query = select(Support).where(Support.support_id == support_id)
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).first()


_BY_PAYMENT_INTENT = (
    select(Support, Dispute)
    .outerjoin(Dispute, Dispute.support_id == Support.support_id)
    .where(Support.payment_intent_id == bindparam("pi"))
    .order_by(Dispute.provider_created_at)
    .with_for_update(of=Support)
)
_DISPUTES = select(Dispute).where(Dispute.support_id == bindparam("support_id")).order_by(Dispute.provider_created_at)
_ADD_HISTORY = hot.Sql(
    "insert into support_status_history (support_id, from_status, to_status, reason, source, provider_event_id, "
    "applied, occurred_at) values (:support_id, :from_status, :to_status, :reason, :source, :provider_event_id, "
    ":applied, :occurred_at)"
)


async def by_payment_intent(session: AsyncSession, payment_intent_id: str) -> tuple[Support, list[Dispute]] | None:
    """The support, locked, and its disputes (oldest first), in one round trip."""
    rows = (await session.execute(_BY_PAYMENT_INTENT, {"pi": payment_intent_id})).all()
    if not rows:
        return None
    return rows[0][0], [dispute for _, dispute in rows if dispute is not None]


async def by_charge(session: AsyncSession, charge_id: str) -> Support | None:
    query = select(Support).where(Support.charge_id == charge_id).with_for_update()
    return (await session.scalars(query)).first()


async def history(session: AsyncSession, support_id: uuid.UUID) -> list[SupportStatusHistory]:
    query = (
        select(SupportStatusHistory)
        .where(SupportStatusHistory.support_id == support_id)
        .order_by(SupportStatusHistory.history_id)
    )
    return list((await session.scalars(query)).all())


async def add_history(
    session: AsyncSession,
    *,
    support_id: uuid.UUID,
    from_status: str | None,
    to_status: str,
    reason: str,
    source: str,
    applied: bool,
    occurred_at: datetime,
    provider_event_id: str | None = None,
) -> None:
    await hot.execute(
        session,
        _ADD_HISTORY,
        {
            "support_id": support_id,
            "from_status": from_status,
            "to_status": to_status,
            "reason": reason,
            "source": source,
            "provider_event_id": provider_event_id,
            "applied": applied,
            "occurred_at": occurred_at,
        },
    )


async def disputes(session: AsyncSession, support_id: uuid.UUID) -> list[Dispute]:
    return list((await session.scalars(_DISPUTES, {"support_id": support_id})).all())


async def expired_prepared_ids(session: AsyncSession, now: datetime, limit: int) -> list[uuid.UUID]:
    """Prepared supports past their expiry, claimed so concurrent sweepers never collide."""
    query = (
        select(Support.support_id)
        .where(Support.status == "prepared", Support.expires_at <= now)
        .order_by(Support.expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.scalars(query)).all())


_STATUS_DOCUMENT = hot.Sql(
    """
    select s.support_id, s.status, s.project_id, s.tier_id, s.amount_minor, s.currency, s.policy_snapshot::text
           as policy_snapshot, s.payment_intent_id, s.succeeded_at, s.supporter_id, s.expires_at, p.creator_id,
           (select d.dispute_id from disputes d where d.support_id = s.support_id
             order by d.provider_created_at desc limit 1) as dispute_id,
           (select coalesce(json_agg(json_build_object(
                     'from_status', h.from_status, 'to_status', h.to_status, 'reason', h.reason,
                     'source', h.source, 'applied', h.applied, 'occurred_at', h.occurred_at,
                     'provider_event_id', h.provider_event_id) order by h.history_id), '[]')::text
              from support_status_history h where h.support_id = s.support_id) as history
      from supports s join projects p on p.project_id = s.project_id
     where s.support_id = :support_id
"""
)


async def committed_status_document(session: AsyncSession, support_id: uuid.UUID) -> Mapping[str, Any] | None:
    """Everything the canonical status read shows, as committed, in one autocommit round trip."""
    return await hot.fetchrow_committed(session, _STATUS_DOCUMENT, {"support_id": support_id})


async def status_document(session: AsyncSession, support_id: uuid.UUID) -> Mapping[str, Any] | None:
    """The same document as the unit of work sees it (after its writes)."""
    return await hot.fetchrow(session, _STATUS_DOCUMENT, {"support_id": support_id})
