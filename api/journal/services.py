"""Posting to the journal: one balanced entry per cause, idempotent on that cause."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from api.journal import repositories as repo
from api.journal.chart import CHART, PROJECT_ACCOUNTS, Cause, Posting
from api.journal.schemas import Balance, Balances, CurrencyTotal, JournalEntryRead, JournalLineRead, JournalPage
from api.pagination import decode_cursor, trim_page
from api.payments.gateway import BalanceTransaction


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


async def book_provider_fees(
    session: AsyncSession,
    transactions: Sequence[BalanceTransaction] = (),
    *,
    sources: Sequence[str] | None = None,
    limit: int = 500,
) -> int:
    """Keep `transactions` (the provider's balance transactions), then book the fee of every kept transaction whose
    source the journal knows and whose fee is not booked yet (only those of `sources`, when given); how many.

    A fee needs two facts, the provider's transaction and the journal's entry for its charge, refund or dispute,
    which arrive in either order (a webhook, the worker's listing): whichever comes second books it. Each fee is
    one `provider_fee` entry caused by its transaction, so a transaction seen again books nothing twice.
    """
    await repo.store_provider_transactions(session, transactions)
    booked = 0
    for fee in await repo.unbooked_fees(session, sources, limit):
        cause = Cause(
            key=f"provider_fee:{fee.transaction_id}",
            occurred_at=fee.created,  # when the provider took it: the day the provider's report shows it
            project_id=fee.project_id,
            support_id=fee.support_id,
            payout_id=fee.payout_id,
            dispute_id=fee.dispute_id,
            provider_object_id=fee.source_id,
            provider_transaction_id=fee.transaction_id,
        )
        posting: Posting = "provider_fee" if fee.fee_minor > 0 else "provider_fee_refund"
        booked += await post(session, posting, cause, abs(int(fee.fee_minor)), fee.currency)
    return booked


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
    page, next_cursor = trim_page(rows, limit, lambda entry: (entry.occurred_at, entry.entry_id))
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
        next_cursor=next_cursor,
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
