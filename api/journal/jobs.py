"""The worker's fee job: list the provider's new balance transactions and book their fees in the journal."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from api.db.engine import Database
from api.errors import ServiceUnavailable
from api.journal import repositories as repo
from api.journal import services
from api.payments.gateway import PaymentGateway, PaymentProviderError

log = logging.getLogger(__name__)

# Listing resumes this long before the newest transaction kept, so one the provider lists a little after its
# `created` is not missed (one listed again is kept once).
OVERLAP = timedelta(hours=1)
# The first listing starts this long before the journal's first entry: the provider stamps a charge before
# our webhook books it.
LEAD = timedelta(days=1)
# A payment, refund or dispute booked up to this long ago whose transaction is not kept yet widens the listing back
# to its day: the journal dates it when the provider took the money, and its webhook may come days later (Stripe
# retries for three), after the listing has moved past that day.
WAITING_HORIZON = timedelta(days=7)


async def sync_provider_fees(db: Database, gateway: PaymentGateway, now: datetime) -> int:
    """Keep the provider's balance transactions created since the last pass and book the fees the journal can
    answer for; how many fees were booked (0 when nothing new was booked, so the worker's drain ends)."""
    async with db.transaction() as session:
        newest, first_entry, waiting = await repo.provider_listing_marks(session, now - WAITING_HORIZON)
    if newest is not None:
        since = min(newest - OVERLAP, waiting - LEAD) if waiting is not None else newest - OVERLAP
    elif first_entry is not None:
        since = first_entry - LEAD
    else:
        return 0  # nothing in the journal comes from the provider yet
    try:
        transactions = await gateway.balance_transactions(since, now + timedelta(days=1))
    except (PaymentProviderError, ServiceUnavailable):
        log.warning("provider fees: the provider's balance transactions could not be listed; the next pass retries")
        return 0
    async with db.transaction() as session:
        return await services.book_provider_fees(session, transactions)
