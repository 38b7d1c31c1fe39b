"""Every SQL query of the payments domain (the webhook inbox)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.db.models import ProviderEvent

PROVIDER = "stripe"


async def store(
    session: AsyncSession,
    *,
    event_id: str,
    event_type: str,
    object_id: str | None,
    created: datetime,
    raw: str,
    payload: dict[str, Any],
) -> None:
    """Insert the event unless its id is already stored (a redelivery)."""
    await session.execute(
        insert(ProviderEvent)
        .values(
            provider=PROVIDER,
            provider_event_id=event_id,
            event_type=event_type,
            object_id=object_id,
            created=created,
            raw_payload=raw,
            payload=payload,
        )
        .on_conflict_do_nothing(index_elements=["provider", "provider_event_id"])
    )


async def lock(session: AsyncSession, event_id: str) -> ProviderEvent | None:
    query = (
        select(ProviderEvent)
        .where(ProviderEvent.provider == PROVIDER, ProviderEvent.provider_event_id == event_id)
        .with_for_update()
    )
    return (await session.scalars(query)).first()
