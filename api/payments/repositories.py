"""Every SQL query of the payments domain (the webhook inbox). Prebuilt: this is the webhook's hot path."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

PROVIDER = "stripe"

_STORE = text(
    """
    insert into provider_events (provider, provider_event_id, event_type, object_id, created, raw_payload, payload)
    values ('stripe', :event_id, :event_type, :object_id, :created, cast(:raw as text), cast(:raw as text)::jsonb)
    on conflict (provider, provider_event_id) do nothing
    """
)
_LOCK = text(
    "select handled_at from provider_events where provider = 'stripe' and provider_event_id = :event_id for update"
)
_MARK_HANDLED = text(
    "update provider_events set handled_at = :handled_at, outcome = :outcome, detail = :detail "
    "where provider = 'stripe' and provider_event_id = :event_id"
)


async def store(
    connection: AsyncConnection, *, event_id: str, event_type: str, object_id: str | None, created: datetime, raw: str
) -> None:
    """Insert the event (raw text, and parsed by PostgreSQL as jsonb) unless its id is already stored."""
    await connection.execute(
        _STORE, {"event_id": event_id, "event_type": event_type, "object_id": object_id, "created": created, "raw": raw}
    )


async def lock_unhandled(session: AsyncSession, event_id: str) -> bool:
    """Lock the stored event; False when it was handled already (a redelivery)."""
    row = (await session.execute(_LOCK, {"event_id": event_id})).first()
    return row is not None and row.handled_at is None


async def mark_handled(
    session: AsyncSession, event_id: str, handled_at: datetime, outcome: str, detail: str | None
) -> None:
    await session.execute(
        _MARK_HANDLED, {"event_id": event_id, "handled_at": handled_at, "outcome": outcome, "detail": detail}
    )
