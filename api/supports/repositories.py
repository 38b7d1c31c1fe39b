"""Every SQL query of the supports domain."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.db.models import Dispute, Support, SupportStatusHistory


async def add(session: AsyncSession, support: Support) -> None:
    session.add(support)
    await session.flush()


async def get(session: AsyncSession, support_id: uuid.UUID, *, for_update: bool = False) -> Support | None:
    query = select(Support).where(Support.support_id == support_id)
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).first()


async def by_payment_intent(session: AsyncSession, payment_intent_id: str) -> Support | None:
    query = select(Support).where(Support.payment_intent_id == payment_intent_id).with_for_update()
    return (await session.scalars(query)).first()


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


async def add_history(session: AsyncSession, row: SupportStatusHistory) -> None:
    session.add(row)
    await session.flush()


async def disputes(session: AsyncSession, support_id: uuid.UUID) -> list[Dispute]:
    query = select(Dispute).where(Dispute.support_id == support_id).order_by(Dispute.provider_created_at)
    return list((await session.scalars(query)).all())


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


async def touch(session: AsyncSession, support_id: uuid.UUID, now: datetime) -> None:
    await session.execute(
        update(Support).where(Support.support_id == support_id).values(version=Support.version + 1, updated_at=now)
    )
