"""Every SQL query of the journal domain."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, and_, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import hot
from api.db.models import JournalEntry, JournalLine
from api.journal.chart import Cause
from api.pagination import Position

# provider_balance moves under these reporting categories (the same mapping as the dbt seed
# journal_entry_categories, which the reconciliation marts use).
_CATEGORY_BY_ENTRY_TYPE = {
    "support_hold": "charge",
    "refund": "refund",
    "dispute_open": "dispute",
    "dispute_close": "dispute_reversal",
    "payout_release": "payout",
}


_INSERT_ENTRY = hot.Sql(
    """
    with entry as (
        insert into journal_entries (entry_id, entry_type, cause_key, project_id, support_id, payout_id, dispute_id,
                                     provider_event_id, provider_object_id, occurred_at)
        values (:entry_id, :entry_type, :cause_key, :project_id, :support_id, :payout_id, :dispute_id,
                :provider_event_id, :provider_object_id, :occurred_at)
        on conflict (cause_key) do nothing
        returning entry_id
    )
    insert into journal_lines (entry_id, account_code, project_id, currency, amount_minor)
    select entry.entry_id, line.account_code, line.project_id, :currency, line.amount_minor
      from entry, (values (:debit, cast(:debit_project as uuid), cast(:amount as bigint)),
                          (:credit, cast(:credit_project as uuid), -cast(:amount as bigint)))
           as line (account_code, project_id, amount_minor)
    returning entry_id
    """
)


async def insert_entry(
    session: AsyncSession,
    entry_id: uuid.UUID,
    entry_type: str,
    cause: Cause,
    currency: str,
    debit: tuple[str, uuid.UUID | None],
    credit: tuple[str, uuid.UUID | None],
    amount_minor: int,
) -> bool:
    """One statement: the entry (unless its cause is already booked) and its two lines. True if inserted."""
    row = await hot.fetchrow(
        session,
        _INSERT_ENTRY,
        {
            "entry_id": entry_id,
            "entry_type": entry_type,
            "cause_key": cause.key,
            "project_id": cause.project_id,
            "support_id": cause.support_id,
            "payout_id": cause.payout_id,
            "dispute_id": cause.dispute_id,
            "provider_event_id": cause.provider_event_id,
            "provider_object_id": cause.provider_object_id,
            "occurred_at": cause.occurred_at,
            "currency": currency,
            "debit": debit[0],
            "debit_project": debit[1],
            "credit": credit[0],
            "credit_project": credit[1],
            "amount": amount_minor,
        },
    )
    return row is not None


async def account_balance(session: AsyncSession, account: str, project_id: uuid.UUID | None, currency: str) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(JournalLine.amount_minor), 0)).where(
            JournalLine.account_code == account,
            JournalLine.project_id == project_id if project_id is not None else JournalLine.project_id.is_(None),
            JournalLine.currency == currency,
        )
    )
    return int(total or 0)


async def loss_booked(session: AsyncSession, dispute_id: uuid.UUID) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(JournalLine.amount_minor), 0))
        .join(JournalEntry, JournalEntry.entry_id == JournalLine.entry_id)
        .where(
            JournalEntry.entry_type == "loss_booking",
            JournalEntry.dispute_id == dispute_id,
            JournalLine.account_code == "dispute_loss_expense",
        )
    )
    return int(total or 0)


async def entries_page(
    session: AsyncSession,
    *,
    entry_type: str | None,
    project_id: uuid.UUID | None,
    since: datetime | None,
    after: Position | None,
    limit: int,
) -> list[JournalEntry]:
    query = select(JournalEntry)
    if entry_type is not None:
        query = query.where(JournalEntry.entry_type == entry_type)
    if project_id is not None:
        query = query.where(JournalEntry.project_id == project_id)
    if since is not None:
        query = query.where(JournalEntry.occurred_at >= since)
    if after is not None:
        query = query.where(
            or_(
                JournalEntry.occurred_at > after.at,
                and_(JournalEntry.occurred_at == after.at, JournalEntry.entry_id > after.id),
            )
        )
    query = query.order_by(JournalEntry.occurred_at, JournalEntry.entry_id).limit(limit)
    return list((await session.scalars(query)).all())


async def balances(session: AsyncSession) -> list[Any]:
    rows = await session.execute(
        select(
            JournalLine.account_code,
            JournalLine.project_id,
            JournalLine.currency,
            func.sum(JournalLine.amount_minor).label("balance_minor"),
        )
        .group_by(JournalLine.account_code, JournalLine.project_id, JournalLine.currency)
        .order_by(JournalLine.currency, JournalLine.account_code, JournalLine.project_id)
    )
    return list(rows)


async def provider_balance_movements(session: AsyncSession, from_date: date, to_date: date) -> list[Any]:
    """provider_balance lines per entry in the date range (UTC days), with the provider object they answer for."""
    day = cast(func.timezone("UTC", JournalEntry.occurred_at), Date)
    rows = await session.execute(
        select(
            day.label("recon_date"),
            JournalLine.currency,
            JournalEntry.entry_type,
            JournalEntry.entry_id,
            JournalEntry.provider_object_id,
            JournalLine.amount_minor,
        )
        .join(JournalEntry, JournalEntry.entry_id == JournalLine.entry_id)
        .where(JournalLine.account_code == "provider_balance", day >= from_date, day <= to_date)
        .order_by(JournalEntry.occurred_at)
    )
    return [
        (
            r.recon_date,
            r.currency,
            _CATEGORY_BY_ENTRY_TYPE[r.entry_type],
            r.entry_id,
            r.provider_object_id,
            r.amount_minor,
        )
        for r in rows
    ]
