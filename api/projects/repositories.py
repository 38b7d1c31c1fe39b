"""Every SQL query of the projects domain."""

from __future__ import annotations

import uuid

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.db.models import PlaybackCap, Project, ProjectUpdate, RewardTier
from api.pagination import Position


async def add_project(session: AsyncSession, project: Project, tiers: list[RewardTier]) -> None:
    session.add(project)
    await session.flush()
    session.add_all(tiers)
    await session.flush()


async def get_project(session: AsyncSession, project_id: uuid.UUID) -> Project | None:
    return await session.get(Project, project_id)


async def live_projects_page(session: AsyncSession, after: Position | None, limit: int) -> list[Project]:
    """Newest first; keyset on (created_at, project_id)."""
    query = select(Project).where(Project.status == "live")
    if after is not None:
        query = query.where(
            or_(
                Project.created_at < after.at,
                and_(Project.created_at == after.at, Project.project_id < after.id),
            )
        )
    query = query.order_by(Project.created_at.desc(), Project.project_id.desc()).limit(limit)
    return list((await session.scalars(query)).all())


async def max_renditions(session: AsyncSession, project_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not project_ids:
        return {}
    rows = await session.execute(
        select(PlaybackCap.project_id, PlaybackCap.max_rendition).where(PlaybackCap.project_id.in_(project_ids))
    )
    return {row.project_id: row.max_rendition for row in rows}


async def add_update(session: AsyncSession, update: ProjectUpdate) -> None:
    session.add(update)
    await session.flush()
