"""Every SQL query of the payments domain (the webhook inbox). Prebuilt: this is the webhook's hot path."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import hot

PROVIDER = "stripe"

_STORE = text(
    """
    insert into provider_events (provider, provider_event_id, event_type, object_id, created, raw_payload, payload)
    values ('stripe', :event_id, :event_type, :object_id, :created, cast(:raw as text), cast(:raw as text)::jsonb)
    on conflict (provider, provider_event_id) do nothing
    """
)
_STORE_NEW = text(_STORE.text + " returning true")
_LOCK = text(
    "select handled_at from provider_events where provider = 'stripe' and provider_event_id = :event_id for update"
)
_MARK_HANDLED = hot.Sql(
    "update provider_events set handled_at = :handled_at, outcome = :outcome, detail = :detail "
    "where provider = 'stripe' and provider_event_id = :event_id"
)


@dataclass(frozen=True)
class InboxEvent:
    """A verified event as the inbox keeps it: the raw text, and parsed by PostgreSQL as jsonb."""

    event_id: str
    event_type: str
    object_id: str | None
    created: datetime
    raw: str

    def params(self) -> dict[str, Any]:
        return dict(vars(self))  # not dataclasses.asdict: it deep-copies every value


async def store(session: AsyncSession, event: InboxEvent) -> None:
    """Insert the event unless its id is already stored."""
    await session.execute(_STORE, event.params())


async def store_to_handle(session: AsyncSession, event: InboxEvent) -> bool:
    """Store the event in the handling transaction and lock it; False when it was handled already.

    A new event is locked by its own insert (a concurrent delivery of it waits on that insert, then
    finds it handled); a stored one, left unhandled by a failed attempt, is locked explicitly."""
    if (await session.execute(_STORE_NEW, event.params())).first() is not None:
        return True
    row = (await session.execute(_LOCK, {"event_id": event.event_id})).first()
    return row is not None and row.handled_at is None


async def mark_handled(
    session: AsyncSession, event_id: str, handled_at: datetime, outcome: str, detail: str | None
) -> None:
    await hot.execute(
        session, _MARK_HANDLED, {"event_id": event_id, "handled_at": handled_at, "outcome": outcome, "detail": detail}
    )
