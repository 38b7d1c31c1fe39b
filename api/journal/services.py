"""Posting to the journal: one balanced entry per cause, idempotent on that cause."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from api.journal import repositories as repo
from api.journal.chart import CHART, PROJECT_ACCOUNTS, Cause, Posting
from api.journal.schemas import Balance, Balances, CurrencyTotal, JournalEntryRead, JournalLineRead, JournalPage
from api.pagination import decode_cursor, encode_cursor


async def post(session: AsyncSession, posting: Posting, cause: Cause, amount_minor: int, currency: str) -> bool:
    """Post `amount_minor` (> 0) from the debit to the credit account of `posting`. False if already posted."""
    if amount_minor <= 0:
        raise ValueError(f"journal amounts are positive minor units, got {amount_minor}")
    entry_type, debit, credit = CHART[posting]
    return await repo.insert_entry(
        session,
        uuid.uuid4(),
        entry_type,
        cause,
        currency,
        (debit, cause.project_id if debit in PROJECT_ACCOUNTS else None),
        (credit, cause.project_id if credit in PROJECT_ACCOUNTS else None),
        amount_minor,
    )


async def entries(
    session: AsyncSession,
    *,
    entry_type: str | None,
    project_id: uuid.UUID | None,
    since: datetime | None,
    cursor: str | None,
    limit: int,
) -> JournalPage:
    rows = await repo.entries_page(
        session,
        entry_type=entry_type,
        project_id=project_id,
        since=since,
        after=decode_cursor(cursor),
        limit=limit + 1,
    )
    page, more = rows[:limit], len(rows) > limit
    return JournalPage(
        items=[
            JournalEntryRead(
                entry_id=e.entry_id,
                entry_type=e.entry_type,
                occurred_at=e.occurred_at,
                project_id=e.project_id,
                support_id=e.support_id,
                payout_id=e.payout_id,
                dispute_id=e.dispute_id,
                provider_event_id=e.provider_event_id,
                provider_object_id=e.provider_object_id,
                lines=[JournalLineRead(ln.account_code, ln.project_id, ln.currency, ln.amount_minor) for ln in e.lines],
            )
            for e in page
        ],
        next_cursor=encode_cursor(page[-1].occurred_at, page[-1].entry_id) if more else None,
    )


async def balances(session: AsyncSession) -> Balances:
    rows = await repo.balances(session)
    totals: dict[str, int] = {}
    for row in rows:
        totals[row.currency] = totals.get(row.currency, 0) + int(row.balance_minor)
    return Balances(
        balances=[Balance(r.account_code, r.project_id, r.currency, int(r.balance_minor)) for r in rows],
        totals=[CurrencyTotal(currency, total) for currency, total in sorted(totals.items())],
    )
