"""Every SQL query of the disputes domain."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.db.models import Dispute


async def by_provider_id(session: AsyncSession, provider_dispute_id: str) -> Dispute | None:
    query = select(Dispute).where(Dispute.provider_dispute_id == provider_dispute_id).with_for_update()
    return (await session.scalars(query)).first()


async def add(session: AsyncSession, dispute: Dispute) -> None:
    session.add(dispute)
    await session.flush()
