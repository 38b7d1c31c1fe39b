"""Business rules of payouts: scheduling captured supports, the creator's list, release, provider outcomes.

Scheduling. A captured support owes its creator `net_payable` (amount - refunds - open or lost
disputes; nothing while a cancellation's refund is pending). `sync_support` makes the support's item
on a *scheduled* payout equal to that minus what released payouts already carried, so it can be
re-run after any event, in any order, any number of times. Items of released payouts are frozen.

Zero. A scheduled payout whose items drop to nothing (everything refunded or disputed) is deleted;
it comes back if the money does (a dispute won).

Release. The worker first re-syncs the payout's supports (catching what no webhook synced, e.g. a
cancellation whose refund is still pending), so money being taken back is not sent.

Release cap. Refunds and losses booked after a release debit `creator_payable` (the journal), not a
payout. So a release sends the items' total capped at the project's payable balance in that
currency and records the difference as `withheld_minor`: Patronage never pays out more than it owes.
A payout fully withheld is closed as `paid` with amount 0, without a provider call.

Provider outcomes. `payout.paid` and `payout.failed` are recorded as facts with their event time; the
status is the later one (failed on a tie). Stripe only ever moves paid → failed, so the real sequence
gives `failed` whatever the delivery order.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, date, datetime, time
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import Principal
from api.db.models import Dispute, ProjectPayout, Support
from api.notifications import services as notifications
from api.pagination import decode_cursor, trim_page
from api.payouts import calendar
from api.payouts import repositories as repo
from api.payouts.schemas import PayoutPage, PayoutRead, PayoutStatus
from api.projects import repositories as projects_repo
from api.projects.services import ProjectNotFound
from api.supports import repositories as supports_repo

log = logging.getLogger(__name__)

HELD_DISPUTES = ("open", "lost")


def net_payable(support: Support, disputes: list[Dispute]) -> int:
    """What the creator is owed for `support`. Mirrored by `repo.supports_without_items`' filter."""
    if support.succeeded_at is None or support.cancel_requested_at is not None:
        return 0
    held = sum(d.amount_minor for d in disputes if d.status in HELD_DISPUTES)
    return max(support.amount_minor - support.refunded_minor - held, 0)


def status_of(payout: ProjectPayout) -> PayoutStatus:
    """The status folded from the facts: our release, then the provider's latest word."""
    if payout.released_at is None:
        return "scheduled"
    if payout.failed_at is not None and (payout.paid_at is None or payout.failed_at >= payout.paid_at):
        return "failed"
    return "paid" if payout.paid_at is not None else "released"


# --- scheduling ---------------------------------------------------------------------------------


async def sync_support(
    session: AsyncSession,
    support: Support,
    *,
    now: datetime,
    country: str,
    disputes: list[Dispute] | None = None,
    first_capture: bool = False,
) -> None:
    """Put what is still owed for `support` on a scheduled payout (creating it), or take it off.

    `first_capture`: the support's success was recorded in this transaction, so it can have no payout
    items yet (items exist only for captured supports) and the look-up is skipped."""
    if support.succeeded_at is None:
        return
    items = [] if first_capture else await repo.support_items(session, support.support_id)
    if disputes is None:
        disputes = await supports_repo.disputes(session, support.support_id)
    released = sum(i.amount_minor for i in items if i.status != "scheduled")
    owed = max(net_payable(support, disputes) - released, 0)
    pending = next((i for i in items if i.status == "scheduled"), None)
    if pending is None:
        if owed > 0:
            assert support.succeeded_at is not None
            day = calendar.execution_date(support.succeeded_at, country)
            if not await repo.add_to_scheduled(
                session,
                project_id=support.project_id,
                currency=support.currency,
                execution_date=day,
                support_id=support.support_id,
                amount_minor=owed,
            ):
                payout_id = await _scheduled_payout(session, support, now, country)
                await repo.set_item(session, payout_id, support.support_id, owed)
        return
    if owed == pending.amount_minor:
        return
    if owed > 0:
        await repo.set_item(session, pending.payout_id, support.support_id, owed)
    else:
        await repo.delete_item(session, pending.payout_id, support.support_id)


async def _scheduled_payout(session: AsyncSession, support: Support, now: datetime, country: str) -> uuid.UUID:
    """The payout of the support's execution date; the next business day's if that one is released already."""
    assert support.succeeded_at is not None
    day = calendar.execution_date(support.succeeded_at, country)
    today = now.astimezone(UTC).date()
    while True:
        payout_id, status = await repo.upsert_payout(
            session,
            project_id=support.project_id,
            currency=support.currency,
            execution_date=day,
            settlement_target_date=calendar.settlement_target_date(day, country),
        )
        if status == "scheduled":
            return payout_id
        day = calendar.next_business_day(max(day, today), country)


async def project_payouts(
    session: AsyncSession,
    viewer: Principal,
    project_id: uuid.UUID,
    *,
    cursor: str | None,
    limit: int,
    now: datetime,
    country: str,
) -> PayoutPage:
    """The project's payouts, oldest execution first; captured supports without a payout are scheduled first."""
    project = await projects_repo.get_project(session, project_id)
    if project is None or (not viewer.is_ops and project.creator_id != viewer.user_id):
        raise ProjectNotFound("Project not found.")
    for support in await repo.supports_without_items(session, project_id):
        await sync_support(session, support, now=now, country=country)
    after = decode_cursor(cursor)
    rows = await repo.page(session, project_id, (after.at.date(), after.id) if after else None, limit + 1)
    page, next_cursor = trim_page(rows, limit, lambda row: (_midnight(row[0].execution_date), row[0].payout_id))
    return PayoutPage(items=[payout_read(p, amount, count) for p, amount, count in page], next_cursor=next_cursor)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def payout_read(payout: ProjectPayout, amount_minor: int, support_count: int) -> PayoutRead:
    return PayoutRead(
        payout_id=payout.payout_id,
        status=payout.status,  # type: ignore[arg-type]  # checked by the table's constraint
        currency=payout.currency,
        amount_minor=amount_minor,
        execution_date=payout.execution_date,
        settlement_target_date=payout.settlement_target_date,
        reserve_minor=payout.reserve_minor,
        reserve_policy=payout.reserve_policy,  # type: ignore[arg-type]
        support_count=support_count,
    )


# --- provider outcomes (webhooks) ---------------------------------------------------------------


async def for_provider_payout(
    session: AsyncSession, provider_payout_id: str | None, metadata: Any
) -> ProjectPayout | None:
    """The payout a provider payout answers for: by its id, else by `metadata.payout_id` (locked)."""
    if provider_payout_id:
        payout = await repo.by_provider_id(session, provider_payout_id)
        if payout is not None:
            return payout
    raw = metadata.get("payout_id") if isinstance(metadata, dict) else None
    try:
        payout = await repo.get(session, uuid.UUID(str(raw))) if raw else None
    except ValueError:
        return None
    if payout is None or payout.provider_payout_id not in (None, provider_payout_id):
        return None
    return payout


def provider_mismatch(payout: ProjectPayout, amount: Any, currency: Any) -> str | None:
    """Why the provider's payout is not the one we released, if it is not."""
    if payout.released_at is None:
        return None  # an earlier attempt whose commit was lost: its amount is the provider's to tell
    if not isinstance(currency, str) or currency.upper() != payout.currency:
        return f"currency {currency!r} differs from the payout's {payout.currency}"
    if amount != payout.amount_minor:
        return f"amount {amount!r} is not the payout's {payout.amount_minor}"
    return None


async def record_provider_outcome(
    session: AsyncSession,
    payout: ProjectPayout,
    outcome: Literal["paid", "failed"],
    *,
    at: datetime,
    failure_code: str | None,
    provider_payout_id: str | None,
    now: datetime,
) -> bool:
    """Record the provider's `outcome` at event time `at` and fold the status; True when it changed."""
    if payout.provider_payout_id is None and provider_payout_id:
        payout.provider_payout_id = provider_payout_id
    if outcome == "paid":
        if payout.paid_at is None or at < payout.paid_at:
            payout.paid_at = at
    elif payout.failed_at is None or at < payout.failed_at:
        payout.failed_at, payout.failure_code = at, failure_code
    old, new = payout.status, status_of(payout)
    if new == old:
        return False
    payout.status, payout.updated_at = new, now
    if new == "failed":
        await notifications.notify(
            session,
            "payout_failed",
            dedupe_key=str(payout.payout_id),
            payload={
                "payout_id": str(payout.payout_id),
                "project_id": str(payout.project_id),
                "amount_minor": payout.amount_minor,
                "currency": payout.currency,
                "failure_code": payout.failure_code,
            },
            recipients={"creator": [await creator_of(session, payout)]},
            now=now,
        )
    return True


async def creator_of(session: AsyncSession, payout: ProjectPayout) -> uuid.UUID:
    project = await projects_repo.get_project(session, payout.project_id)
    assert project is not None  # a foreign key
    return project.creator_id
