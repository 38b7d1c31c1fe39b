"""The worker's payout job: release scheduled payouts on their business day, one transaction each."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from api.db.engine import Database
from api.db.models import ProjectPayout
from api.errors import ServiceUnavailable
from api.events.landing import land_server_event, server_event
from api.journal import repositories as journal_repo
from api.journal import services as journal
from api.journal.chart import Cause
from api.notifications import services as notifications
from api.payments.gateway import PaymentGateway, PaymentProviderError
from api.payouts import repositories as repo
from api.payouts.services import creator_of, status_of, sync_support

log = logging.getLogger(__name__)


async def release_due(db: Database, gateway: PaymentGateway, now: datetime, *, country: str, limit: int = 20) -> int:
    """Release scheduled payouts due by `now`'s UTC date, one transaction each; how many were sent.

    A payout the provider refuses (or cannot be reached for) stays scheduled for the next pass; the
    provider call carries `payout-{payout_id}` as idempotency key, so a retry after a lost commit
    finds the same provider payout instead of sending a second one.
    """
    today = now.astimezone(UTC).date()
    seen: list[uuid.UUID] = []
    released = 0
    while len(seen) < limit:
        try:
            async with db.transaction() as session:
                payout = await repo.claim_due(session, today, seen)
                if payout is None:
                    return released
                seen.append(payout.payout_id)
                released += await _release(session, gateway, payout, now, country)
        except (PaymentProviderError, ServiceUnavailable):
            log.warning("payout %s stays scheduled: the provider refused or was unreachable", seen[-1], exc_info=True)
    return released


async def _release(
    session: AsyncSession, gateway: PaymentGateway, payout: ProjectPayout, now: datetime, country: str
) -> bool:
    supports = await repo.lock_supports_of(session, payout.payout_id)
    if supports is None:
        log.info("payout %s waits for the next pass: a webhook is updating one of its supports", payout.payout_id)
        return False
    for support in supports:  # catch what no webhook synced yet, e.g. a cancellation whose refund is pending
        await sync_support(session, support, now=now, country=country)
    total, count = await repo.items_total(session, payout.payout_id)
    if count == 0:
        await repo.delete_payout(session, payout.payout_id)  # everything was taken back
        return False
    payout.support_count = count
    await repo.lock_payable(session, payout.project_id, payout.currency)
    # creator_payable is a credit balance: negative means Patronage owes the creator.
    balance = await journal_repo.account_balance(session, "creator_payable", payout.project_id, payout.currency)
    amount = min(total, max(-balance, 0))
    payout.amount_minor, payout.withheld_minor = amount, total - amount
    if amount == 0:
        payout.paid_at = payout.paid_at or now  # nothing to send: closed
        _mark_released(payout, now)
        return False
    if payout.provider_payout_id is None:  # else a webhook already told us of an earlier attempt's payout
        payout.provider_payout_id = await gateway.create_payout(
            payout_id=str(payout.payout_id),
            project_id=str(payout.project_id),
            amount_minor=amount,
            currency=payout.currency,
            idempotency_key=f"payout-{payout.payout_id}",
        )
    _mark_released(payout, now)
    await journal.post(
        session,
        "payout_release",
        Cause(
            key=f"payout_release:{payout.payout_id}",
            occurred_at=now,
            project_id=payout.project_id,
            payout_id=payout.payout_id,
            provider_object_id=payout.provider_payout_id,
        ),
        amount,
        payout.currency,
    )
    creator_id = await creator_of(session, payout)
    properties = {"payout_id": str(payout.payout_id), "amount_minor": amount, "currency": payout.currency}
    await land_server_event(
        session,
        server_event(
            "payout_released",
            cause=str(payout.payout_id),
            occurred_at=now,
            user_id=creator_id,
            project_id=payout.project_id,
            properties=properties,
        ),
    )
    await notifications.notify(
        session,
        "payout_released",
        dedupe_key=str(payout.payout_id),
        payload={**properties, "project_id": str(payout.project_id)},
        recipients={"creator": [creator_id]},
        now=now,
    )
    return True


def _mark_released(payout: ProjectPayout, now: datetime) -> None:
    """`released_at` and the status change together (the table checks they agree)."""
    payout.released_at = payout.updated_at = now
    payout.status = status_of(payout)
