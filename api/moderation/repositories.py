"""Every SQL query of the moderation domain."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.db.models import ModerationReview, ProjectReport, ReporterTrust

_LOCK_PROJECT = text("select pg_advisory_xact_lock(hashtextextended(:key, 0))")
_ADJUST_TRUST = text(
    """
    insert into reporter_trust (user_id, score, upheld_count, rejected_count, updated_at)
    select distinct r.reporter_id,
           least(cast(:ceiling as numeric),
                 greatest(cast(:floor as numeric), cast(:start as numeric) + cast(:delta as numeric))),
           cast(:upheld as integer), cast(:rejected as integer), cast(:now as timestamptz)
      from project_reports r where r.review_id = :review_id
     order by r.reporter_id
    on conflict (user_id) do update
       set score = least(cast(:ceiling as numeric),
                         greatest(cast(:floor as numeric), reporter_trust.score + cast(:delta as numeric))),
           upheld_count = reporter_trust.upheld_count + excluded.upheld_count,
           rejected_count = reporter_trust.rejected_count + excluded.rejected_count,
           updated_at = excluded.updated_at
    """
)


async def lock_project(session: AsyncSession, project_id: uuid.UUID) -> None:
    """Transaction-scoped lock serializing one project's reports and decisions."""
    await session.execute(_LOCK_PROJECT, {"key": f"moderation:{project_id}"})


async def trust_score(session: AsyncSession, user_id: uuid.UUID) -> Decimal | None:
    return await session.scalar(select(ReporterTrust.score).where(ReporterTrust.user_id == user_id))


async def insert_report(session: AsyncSession, values: dict[str, Any]) -> bool:
    """False when the reporter already reported the project that UTC day (waits for a concurrent twin)."""
    query = insert(ProjectReport).values(**values).on_conflict_do_nothing().returning(ProjectReport.report_id)
    return (await session.scalar(query)) is not None


async def open_review_id(session: AsyncSession, project_id: uuid.UUID) -> uuid.UUID | None:
    query = select(ModerationReview.review_id).where(
        ModerationReview.project_id == project_id, ModerationReview.status == "open"
    )
    return await session.scalar(query)


async def unreviewed_in_window(session: AsyncSession, project_id: uuid.UUID, since: datetime) -> list[Any]:
    """Reports since `since` that no review case has judged yet: (report_id, reason, weight)."""
    query = (
        select(ProjectReport.report_id, ProjectReport.reason, ProjectReport.weight)
        .where(
            ProjectReport.project_id == project_id,
            ProjectReport.created_at >= since,
            ProjectReport.review_id.is_(None),
        )
        .order_by(ProjectReport.created_at, ProjectReport.report_id)
    )
    return list((await session.execute(query)).all())


async def insert_open_review(session: AsyncSession, values: dict[str, Any]) -> bool:
    """False when the project already has an open review (the partial unique index decides)."""
    query = (
        insert(ModerationReview)
        .values(**values, status="open")
        .on_conflict_do_nothing(index_elements=["project_id"], index_where=text("status = 'open'"))
        .returning(ModerationReview.review_id)
    )
    return (await session.scalar(query)) is not None


async def attach_reports(session: AsyncSession, report_ids: Sequence[uuid.UUID], review_id: uuid.UUID) -> None:
    query = update(ProjectReport).where(ProjectReport.report_id.in_(report_ids)).values(review_id=review_id)
    await session.execute(query)


async def reports(session: AsyncSession, project_id: uuid.UUID) -> list[ProjectReport]:
    query = (
        select(ProjectReport)
        .where(ProjectReport.project_id == project_id)
        .order_by(ProjectReport.created_at.desc(), ProjectReport.report_id)
    )
    return list((await session.scalars(query)).all())


async def reviews(session: AsyncSession, project_id: uuid.UUID) -> list[ModerationReview]:
    query = (
        select(ModerationReview)
        .where(ModerationReview.project_id == project_id)
        .order_by(ModerationReview.created_at.desc(), ModerationReview.review_id)
    )
    return list((await session.scalars(query)).all())


async def review_project_id(session: AsyncSession, review_id: uuid.UUID) -> uuid.UUID | None:
    query = select(ModerationReview.project_id).where(ModerationReview.review_id == review_id)
    return await session.scalar(query)


async def review_for_update(session: AsyncSession, review_id: uuid.UUID) -> ModerationReview | None:
    query = (
        select(ModerationReview)
        .where(ModerationReview.review_id == review_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(query)).first()


async def adjust_trust(
    session: AsyncSession,
    review_id: uuid.UUID,
    *,
    delta: Decimal,
    start: Decimal,
    floor: Decimal,
    ceiling: Decimal,
    upheld: bool,
    now: datetime,
) -> None:
    """Move each distinct reporter of the review by `delta` (clamped); ordered by user id against deadlocks."""
    await session.execute(
        _ADJUST_TRUST,
        {
            "review_id": review_id,
            "delta": delta,
            "start": start,
            "floor": floor,
            "ceiling": ceiling,
            "upheld": int(upheld),
            "rejected": int(not upheld),
            "now": now,
        },
    )
