"""Every SQL query of the journal domain."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, and_, cast, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import hot
from api.db.models import JournalEntry, JournalLine
from api.journal.chart import Cause
from api.pagination import Position
from api.payments.gateway import BalanceTransaction

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
                                     provider_event_id, provider_object_id, provider_transaction_id, occurred_at)
        values (:entry_id, :entry_type, :cause_key, :project_id, :support_id, :payout_id, :dispute_id,
                :provider_event_id, :provider_object_id, :provider_transaction_id, :occurred_at)
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
            "provider_transaction_id": cause.provider_transaction_id,
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
    """provider_balance lines per entry in the date range (UTC days), with the provider object they answer for:
    the gross movements (a check compares the provider's gross `amount`), so fee entries are left out."""
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
        .where(
            JournalLine.account_code == "provider_balance",
            JournalEntry.entry_type != "provider_fee",
            day >= from_date,
            day <= to_date,
        )
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


# --- the provider's balance transactions and their fees ----------------------------------------------------------

_STORE_TRANSACTION = text(
    """
    insert into provider_balance_transactions (transaction_id, type, reporting_category, source_id, currency,
                                               amount_minor, fee_minor, net_minor, fee_details, created, available_on)
    values (:transaction_id, :type, :reporting_category, :source_id, :currency, :amount_minor, :fee_minor, :net_minor,
            cast(:fee_details as jsonb), :created, :available_on)
    on conflict (transaction_id) do nothing
    """
)
# Stored transactions with a fee the journal has not booked, whose source object (charge, refund, dispute) the
# journal knows: the fee entry answers for the same support, dispute or payout as the source's first entry.
_UNBOOKED_FEES = """
    select t.transaction_id, t.source_id, t.currency, t.fee_minor, t.created,
           known.project_id, known.support_id, known.dispute_id, known.payout_id
      from provider_balance_transactions t
      join lateral (
            select e.project_id, e.support_id, e.dispute_id, e.payout_id
              from journal_entries e
             where e.provider_object_id = t.source_id and e.entry_type <> 'provider_fee'
             order by e.occurred_at, e.entry_id
             limit 1
           ) known on true
     where t.fee_minor <> 0
       and not exists (select 1 from journal_entries f where f.cause_key = 'provider_fee:' || t.transaction_id)
       {sources}
     order by t.created, t.transaction_id
     limit :limit
"""


async def store_provider_transactions(session: AsyncSession, transactions: Sequence[BalanceTransaction]) -> None:
    """Keep each transaction as the provider reported it; one already stored is left as it is."""
    if not transactions:
        return
    await session.execute(
        _STORE_TRANSACTION,
        [
            {
                "transaction_id": t.transaction_id,
                "type": t.type or t.reporting_category,
                "reporting_category": t.reporting_category,
                "source_id": t.source,
                "currency": t.currency,
                "amount_minor": t.amount_minor,
                "fee_minor": t.fee_minor,
                "net_minor": t.net_minor,
                "fee_details": json.dumps([dataclasses.asdict(d) for d in t.fee_details]),
                "created": t.created,
                "available_on": t.available_on,
            }
            for t in transactions
        ],
    )


async def unbooked_fees(session: AsyncSession, sources: Sequence[str] | None, limit: int) -> list[Any]:
    """Fees to book: of every stored transaction, or only of those whose source is one of `sources`."""
    if sources is not None and not sources:
        return []
    query = _UNBOOKED_FEES.format(sources="" if sources is None else "and t.source_id = any(:sources)")
    params: dict[str, Any] = {"limit": limit} | ({} if sources is None else {"sources": list(sources)})
    return list(await session.execute(text(query), params))


# Entries whose provider object has a balance transaction of its own (a charge, a refund, a dispute, a payout).
_WITH_TRANSACTION = ("support_hold", "refund", "dispute_open", "payout_release")


async def provider_listing_marks(
    session: AsyncSession, horizon: datetime
) -> tuple[datetime | None, datetime | None, datetime | None]:
    """(the newest kept transaction's time, the journal's first entry with a provider object's time, the earliest
    entry since `horizon` whose provider object's transaction is not kept yet)."""
    row = (
        await session.execute(
            text(
                "select (select max(created) from provider_balance_transactions) as newest, "
                "(select min(occurred_at) from journal_entries where provider_object_id is not null) as first_entry, "
                "(select min(e.occurred_at) from journal_entries e "
                " where e.entry_type = any(:kinds) and e.provider_object_id is not null and e.occurred_at >= :horizon"
                "   and not exists (select 1 from provider_balance_transactions t"
                "                    where t.source_id = e.provider_object_id)) as waiting"
            ),
            {"horizon": horizon, "kinds": list(_WITH_TRANSACTION)},
        )
    ).one()
    return row.newest, row.first_entry, row.waiting
