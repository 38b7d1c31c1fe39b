"""Every SQL query of the payouts domain.

Lock order, so webhooks, the lazy list and the release worker never deadlock: a support row first,
then the payout rows it touches. The release worker locks one payout row first, so it only takes
its supports with SKIP LOCKED (never waits for them), then its project's payable (an advisory lock).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from api.db.models import PayoutItem, ProjectPayout, Support

# Only scheduled payouts are locked (released items are frozen), and a support has at most one, so
# this never waits on two payouts at once. A payout released meanwhile drops out after the wait.
_LOCK_SCHEDULED = text(
    """
    select p.payout_id from project_payouts p join payout_items i using (payout_id)
     where i.support_id = :support_id and p.status = 'scheduled'
       for update of p
    """
)
_SUPPORT_ITEMS = text(
    """
    select i.payout_id, i.amount_minor, p.status
      from payout_items i join project_payouts p using (payout_id)
     where i.support_id = :support_id
     order by p.execution_date
    """
)
# `do update` (a no-op) rather than `do nothing`: it locks and returns the existing row.
_UPSERT_PAYOUT = text(
    """
    insert into project_payouts (payout_id, project_id, currency, execution_date, settlement_target_date)
    values (:payout_id, :project_id, :currency, :execution_date, :settlement_target_date)
    on conflict (project_id, execution_date, currency) do update set status = project_payouts.status
    returning payout_id, status
    """
)
_SET_ITEM = text(
    """
    insert into payout_items (payout_id, support_id, amount_minor) values (:payout_id, :support_id, :amount)
    on conflict (payout_id, support_id) do update set amount_minor = excluded.amount_minor
    """
)
_DELETE_ITEM = text("delete from payout_items where payout_id = :payout_id and support_id = :support_id")
_REFRESH_TOTALS = text(
    """
    update project_payouts p
       set amount_minor = t.amount, support_count = t.supports, updated_at = :now
      from (select coalesce(sum(amount_minor), 0) as amount, count(*) as supports
              from payout_items where payout_id = :payout_id) t
     where p.payout_id = :payout_id and p.status = 'scheduled'
    """
)
_DELETE_IF_EMPTY = text(
    """
    delete from project_payouts p
     where p.payout_id = :payout_id and p.status = 'scheduled'
       and not exists (select 1 from payout_items i where i.payout_id = p.payout_id)
    """
)
_LOCK_PAYABLE = text("select pg_advisory_xact_lock(hashtextextended(:key, 0))")


async def support_items(session: AsyncSession, support_id: uuid.UUID) -> list[Any]:
    """The support's items with their payout's status; its scheduled payout is locked (items change under it)."""
    await session.execute(_LOCK_SCHEDULED, {"support_id": support_id})
    return list(await session.execute(_SUPPORT_ITEMS, {"support_id": support_id}))


async def upsert_payout(
    session: AsyncSession,
    *,
    project_id: uuid.UUID,
    currency: str,
    execution_date: date,
    settlement_target_date: date,
) -> tuple[uuid.UUID, str]:
    """The (project, execution date, currency) payout, created if missing, locked; (payout_id, status)."""
    row = (
        await session.execute(
            _UPSERT_PAYOUT,
            {
                "payout_id": uuid.uuid4(),
                "project_id": project_id,
                "currency": currency,
                "execution_date": execution_date,
                "settlement_target_date": settlement_target_date,
            },
        )
    ).one()
    return row.payout_id, row.status


async def set_item(session: AsyncSession, payout_id: uuid.UUID, support_id: uuid.UUID, amount_minor: int) -> None:
    await session.execute(_SET_ITEM, {"payout_id": payout_id, "support_id": support_id, "amount": amount_minor})


async def delete_item(session: AsyncSession, payout_id: uuid.UUID, support_id: uuid.UUID) -> None:
    await session.execute(_DELETE_ITEM, {"payout_id": payout_id, "support_id": support_id})


async def refresh_totals(session: AsyncSession, payout_id: uuid.UUID, now: datetime) -> None:
    """A scheduled payout's amount and support count from its items; deleted when it has none left."""
    await session.execute(_REFRESH_TOTALS, {"payout_id": payout_id, "now": now})
    await session.execute(_DELETE_IF_EMPTY, {"payout_id": payout_id})


async def supports_without_items(session: AsyncSession, project_id: uuid.UUID) -> list[Support]:
    """The project's captured supports that no payout covers yet, locked; ones a webhook holds are skipped."""
    query = (
        select(Support)
        .where(
            Support.project_id == project_id,
            Support.succeeded_at.is_not(None),
            # net_payable is 0 for these: not worth locking on every read.
            Support.cancel_requested_at.is_(None),
            Support.refunded_minor < Support.amount_minor,
            ~exists().where(PayoutItem.support_id == Support.support_id),
        )
        .order_by(Support.succeeded_at, Support.support_id)
        .with_for_update(skip_locked=True)
    )
    return list((await session.scalars(query)).all())


async def page(
    session: AsyncSession, project_id: uuid.UUID, after: tuple[date, uuid.UUID] | None, limit: int
) -> list[ProjectPayout]:
    """Oldest execution date first; keyset on (execution_date, payout_id)."""
    query = select(ProjectPayout).where(ProjectPayout.project_id == project_id)
    if after is not None:
        query = query.where(
            or_(
                ProjectPayout.execution_date > after[0],
                and_(ProjectPayout.execution_date == after[0], ProjectPayout.payout_id > after[1]),
            )
        )
    query = query.order_by(ProjectPayout.execution_date, ProjectPayout.payout_id).limit(limit)
    return list((await session.scalars(query)).all())


async def claim_due(session: AsyncSession, today: date, skip: list[uuid.UUID]) -> ProjectPayout | None:
    """One scheduled payout due by `today`, locked; payouts another worker holds (or in `skip`) are passed over."""
    query = select(ProjectPayout).where(ProjectPayout.status == "scheduled", ProjectPayout.execution_date <= today)
    if skip:
        query = query.where(ProjectPayout.payout_id.not_in(skip))
    query = (
        query.order_by(ProjectPayout.execution_date, ProjectPayout.payout_id).limit(1).with_for_update(skip_locked=True)
    )
    return (await session.scalars(query)).first()


async def lock_supports_of(session: AsyncSession, payout_id: uuid.UUID) -> list[Support] | None:
    """The payout's supports, locked; None when a webhook holds one of them (try the payout again later)."""
    count = await session.scalar(select(func.count()).where(PayoutItem.payout_id == payout_id))
    query = (
        select(Support)
        .join(PayoutItem, PayoutItem.support_id == Support.support_id)
        .where(PayoutItem.payout_id == payout_id)
        .order_by(Support.support_id)
        .with_for_update(of=Support, skip_locked=True)
    )
    supports = list((await session.scalars(query)).all())
    return supports if len(supports) == count else None


async def items_total(session: AsyncSession, payout_id: uuid.UUID) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(PayoutItem.amount_minor), 0)).where(PayoutItem.payout_id == payout_id)
    )
    return int(total or 0)


async def lock_payable(session: AsyncSession, project_id: uuid.UUID, currency: str) -> None:
    """Serialize releases per project and currency, so two payouts never both spend the same payable."""
    await session.execute(_LOCK_PAYABLE, {"key": f"creator_payable:{project_id}:{currency}"})


async def by_provider_id(session: AsyncSession, provider_payout_id: str) -> ProjectPayout | None:
    query = select(ProjectPayout).where(ProjectPayout.provider_payout_id == provider_payout_id).with_for_update()
    return (await session.scalars(query)).first()


async def get(session: AsyncSession, payout_id: uuid.UUID) -> ProjectPayout | None:
    query = select(ProjectPayout).where(ProjectPayout.payout_id == payout_id).with_for_update()
    return (await session.scalars(query)).first()
