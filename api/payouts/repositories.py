"""Every SQL query of the payouts domain.

Lock order, so webhooks, the lazy list and the release worker never deadlock: a support row first,
then the payout rows it touches. The release worker locks one payout row first, so it only takes
its supports with SKIP LOCKED (never waits for them), then its project's payable (an advisory lock).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import hot
from api.db.models import PayoutItem, ProjectPayout, Support

# Webhooks take scheduled payouts FOR SHARE: many supports of one project and day are synced at
# once, and only the release (FOR UPDATE) excludes them. Nothing on the payout row is written per
# webhook: a scheduled payout's amount is summed from its items when read, and frozen at release.
# A support has at most one scheduled payout; released ones (frozen) are share-locked too, harmlessly.
_SUPPORT_ITEMS = text(
    """
    select i.payout_id, i.amount_minor, p.status
      from payout_items i join project_payouts p using (payout_id)
     where i.support_id = :support_id
     order by p.execution_date
       for share of p
    """
)
_INSERT_PAYOUT = text(
    """
    insert into project_payouts (payout_id, project_id, currency, execution_date, settlement_target_date)
    values (:payout_id, :project_id, :currency, :execution_date, :settlement_target_date)
    on conflict (project_id, execution_date, currency) do nothing
    """
)
_SHARE_PAYOUT = text(
    """
    select payout_id, status from project_payouts
     where project_id = :project_id and execution_date = :execution_date and currency = :currency
       for share
    """
)
# The common case in one round trip: the day's payout exists and is scheduled; share-lock it, add the item.
_ADD_TO_SCHEDULED = hot.Sql(
    """
    with payout as (
        select payout_id from project_payouts
         where project_id = :project_id and execution_date = :execution_date and currency = :currency
           and status = 'scheduled'
           for share
    )
    insert into payout_items (payout_id, support_id, amount_minor)
    select payout_id, :support_id, :amount from payout
    on conflict (payout_id, support_id) do update set amount_minor = excluded.amount_minor
    returning payout_id
    """
)
_SET_ITEM = hot.Sql(
    """
    insert into payout_items (payout_id, support_id, amount_minor) values (:payout_id, :support_id, :amount)
    on conflict (payout_id, support_id) do update set amount_minor = excluded.amount_minor
    """
)
_DELETE_ITEM = text("delete from payout_items where payout_id = :payout_id and support_id = :support_id")
_LOCK_PAYABLE = text("select pg_advisory_xact_lock(hashtextextended(:key, 0))")


async def support_items(session: AsyncSession, support_id: uuid.UUID) -> list[Any]:
    """The support's items with their payout's status; their payouts share-locked (the release waits)."""
    return list(await session.execute(_SUPPORT_ITEMS, {"support_id": support_id}))


async def upsert_payout(
    session: AsyncSession,
    *,
    project_id: uuid.UUID,
    currency: str,
    execution_date: date,
    settlement_target_date: date,
) -> tuple[uuid.UUID, str]:
    """The (project, execution date, currency) payout, created if missing, share-locked; (payout_id, status)."""
    key = {"project_id": project_id, "currency": currency, "execution_date": execution_date}
    row = (await session.execute(_SHARE_PAYOUT, key)).first()  # usually there already: one round trip
    if row is None:
        await session.execute(
            _INSERT_PAYOUT, {**key, "payout_id": uuid.uuid4(), "settlement_target_date": settlement_target_date}
        )
        row = (await session.execute(_SHARE_PAYOUT, key)).one()
    return row.payout_id, row.status


async def add_to_scheduled(
    session: AsyncSession,
    *,
    project_id: uuid.UUID,
    currency: str,
    execution_date: date,
    support_id: uuid.UUID,
    amount_minor: int,
) -> bool:
    """Put the item on that day's scheduled payout if it exists; False when it does not (or is released)."""
    params = {"project_id": project_id, "currency": currency, "execution_date": execution_date}
    added = await hot.fetchrow(session, _ADD_TO_SCHEDULED, {**params, "support_id": support_id, "amount": amount_minor})
    return added is not None


async def set_item(session: AsyncSession, payout_id: uuid.UUID, support_id: uuid.UUID, amount_minor: int) -> None:
    await hot.execute(session, _SET_ITEM, {"payout_id": payout_id, "support_id": support_id, "amount": amount_minor})


async def delete_item(session: AsyncSession, payout_id: uuid.UUID, support_id: uuid.UUID) -> None:
    await session.execute(_DELETE_ITEM, {"payout_id": payout_id, "support_id": support_id})


async def delete_payout(session: AsyncSession, payout_id: uuid.UUID) -> None:
    """A scheduled payout everything was taken back from (the release holds it locked)."""
    await session.execute(
        text("delete from project_payouts where payout_id = :p and status = 'scheduled'"), {"p": payout_id}
    )


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


# A scheduled payout's amount and count come from its items (an empty one is not shown); a released
# payout's were frozen at release.
_ITEM_TOTALS = (
    select(
        PayoutItem.payout_id,
        func.sum(PayoutItem.amount_minor).label("amount"),
        func.count().label("supports"),
    )
    .group_by(PayoutItem.payout_id)
    .subquery()
)


async def page(
    session: AsyncSession, project_id: uuid.UUID, after: tuple[date, uuid.UUID] | None, limit: int
) -> list[tuple[ProjectPayout, int, int]]:
    """Oldest execution date first; keyset on (execution_date, payout_id); (payout, amount, support count)."""
    scheduled = ProjectPayout.status == "scheduled"
    query = (
        select(ProjectPayout, _ITEM_TOTALS.c.amount, _ITEM_TOTALS.c.supports)
        .outerjoin(_ITEM_TOTALS, _ITEM_TOTALS.c.payout_id == ProjectPayout.payout_id)
        .where(ProjectPayout.project_id == project_id, or_(~scheduled, _ITEM_TOTALS.c.supports.is_not(None)))
    )
    if after is not None:
        query = query.where(
            or_(
                ProjectPayout.execution_date > after[0],
                and_(ProjectPayout.execution_date == after[0], ProjectPayout.payout_id > after[1]),
            )
        )
    query = query.order_by(ProjectPayout.execution_date, ProjectPayout.payout_id).limit(limit)
    result: list[tuple[ProjectPayout, int, int]] = []
    for row in (await session.execute(query)).all():
        payout: ProjectPayout = row[0]
        if payout.status == "scheduled":
            result.append((payout, int(row[1] or 0), int(row[2] or 0)))
        else:
            result.append((payout, payout.amount_minor, payout.support_count))
    return result


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


async def items_total(session: AsyncSession, payout_id: uuid.UUID) -> tuple[int, int]:
    """The payout's items: (amount, count)."""
    row = (
        await session.execute(
            select(func.coalesce(func.sum(PayoutItem.amount_minor), 0), func.count()).where(
                PayoutItem.payout_id == payout_id
            )
        )
    ).one()
    return int(row[0]), int(row[1])


async def lock_payable(session: AsyncSession, project_id: uuid.UUID, currency: str) -> None:
    """Serialize releases per project and currency, so two payouts never both spend the same payable."""
    await session.execute(_LOCK_PAYABLE, {"key": f"creator_payable:{project_id}:{currency}"})


async def by_provider_id(session: AsyncSession, provider_payout_id: str) -> ProjectPayout | None:
    query = select(ProjectPayout).where(ProjectPayout.provider_payout_id == provider_payout_id).with_for_update()
    return (await session.scalars(query)).first()


async def get(session: AsyncSession, payout_id: uuid.UUID) -> ProjectPayout | None:
    query = select(ProjectPayout).where(ProjectPayout.payout_id == payout_id).with_for_update()
    return (await session.scalars(query)).first()
