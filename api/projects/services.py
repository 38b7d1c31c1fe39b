"""Business rules of projects and the feed."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import Principal
from api.db.models import Project, ProjectUpdate, RewardTier
from api.errors import Conflict, FieldError, NotFound, ValidationFailed
from api.notifications import repositories as notification_repo
from api.notifications import services as notifications
from api.pagination import decode_cursor, trim_page
from api.projects import repositories as repo
from api.projects.schemas import (
    FeedPage,
    Playback,
    ProjectCreate,
    ProjectRead,
    ProjectUpdateCreate,
    ProjectUpdateRead,
    RewardTierRead,
)

DEFAULT_RENDITION = "1080p"


class ProjectNotFound(NotFound):
    code = "project_not_found"


class TierIdConflict(Conflict):
    code = "tier_id_conflict"


def project_read(project: Project, max_rendition: str | None) -> ProjectRead:
    return ProjectRead(
        project_id=project.project_id,
        creator_id=project.creator_id,
        title=project.title,
        description=project.description,
        currency=project.currency,
        goal_minor=project.goal_minor,
        status=project.status,  # type: ignore[arg-type]  # checked by the table's constraint
        reward_tiers=[
            RewardTierRead(t.tier_id, t.title, t.amount_minor, t.reward_type)  # type: ignore[arg-type]
            for t in project.tiers
        ],
        playback=Playback(max_rendition=(max_rendition or DEFAULT_RENDITION)),  # type: ignore[arg-type]
        video_upload_id=project.video_upload_id,
        created_at=project.created_at,
    )


async def create_project(session: AsyncSession, creator: Principal, data: ProjectCreate) -> ProjectRead:
    tier_ids = [t.tier_id or uuid.uuid4() for t in data.reward_tiers]
    if len(set(tier_ids)) != len(tier_ids):
        raise ValidationFailed(
            "Tier ids must be unique.", errors=[FieldError(path="$.reward_tiers", message="duplicate tier_id")]
        )
    project = Project(
        project_id=uuid.uuid4(),
        creator_id=creator.user_id,
        title=data.title,
        description=data.description,
        currency=data.currency,
        goal_minor=data.goal_minor,
        status="live",
        video_upload_id=data.video_upload_id,
    )
    tiers = [
        RewardTier(
            tier_id=tier_id,
            project_id=project.project_id,
            position=position,
            title=tier.title,
            amount_minor=tier.amount_minor,
            reward_type=tier.reward_type,
        )
        for position, (tier_id, tier) in enumerate(zip(tier_ids, data.reward_tiers, strict=True))
    ]
    try:
        async with session.begin_nested():
            await repo.add_project(session, project, tiers)
    except IntegrityError:
        raise TierIdConflict("A tier_id given is already used by another project.") from None
    await session.refresh(project, ["created_at", "tiers"])
    return project_read(project, None)


async def visible_project(session: AsyncSession, viewer: Principal, project_id: uuid.UUID) -> Project:
    """A live project, or any project to its creator and ops; otherwise 404."""
    project = await repo.get_project(session, project_id)
    if project is None or (project.status != "live" and not viewer.is_ops and project.creator_id != viewer.user_id):
        raise ProjectNotFound("Project not found.")
    return project


async def get_project(session: AsyncSession, viewer: Principal, project_id: uuid.UUID) -> ProjectRead:
    project = await visible_project(session, viewer, project_id)
    caps = await repo.max_renditions(session, [project_id])
    return project_read(project, caps.get(project_id))


async def feed(session: AsyncSession, cursor: str | None, limit: int) -> FeedPage:
    projects = await repo.live_projects_page(session, decode_cursor(cursor), limit + 1)
    page, next_cursor = trim_page(projects, limit, lambda project: (project.created_at, project.project_id))
    caps = await repo.max_renditions(session, [p.project_id for p in page])
    return FeedPage(items=[project_read(p, caps.get(p.project_id)) for p in page], next_cursor=next_cursor)


async def add_update(
    session: AsyncSession, creator: Principal, project_id: uuid.UUID, data: ProjectUpdateCreate
) -> ProjectUpdateRead:
    project = await repo.get_project(session, project_id)
    if project is None or project.creator_id != creator.user_id:
        raise ProjectNotFound("Project not found.")
    update = ProjectUpdate(
        update_id=uuid.uuid4(), project_id=project_id, author_id=creator.user_id, title=data.title, body=data.body
    )
    await repo.add_update(session, update)
    await session.refresh(update, ["created_at"])
    await notifications.notify(
        session,
        "campaign_update",
        dedupe_key=str(update.update_id),
        payload={"project_id": str(project_id), "update_id": str(update.update_id), "title": update.title},
        recipients={"supporter": await notification_repo.project_supporters(session, project_id)},
        now=update.created_at,
    )
    return ProjectUpdateRead(update.update_id, project_id, update.title, update.body, update.created_at)
