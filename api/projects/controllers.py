"""HTTP routes of projects and the feed: parse, call one service, return a schema."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from api.auth import Principal, Role, allow
from api.idempotency import Idempotency
from api.pagination import DEFAULT_LIMIT, MAX_LIMIT
from api.projects import services
from api.projects.schemas import FeedPage, ProjectCreate, ProjectRead, ProjectUpdateCreate, ProjectUpdateRead
from api.state import AppState

Limit = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT, description="Page size.")]
Cursor = Annotated[str | None, QueryParameter(description="next_cursor of the previous page.")]


class ProjectController(Controller):
    path = "/v1"
    tags = ["projects"]

    @post(
        "/projects",
        status_code=201,
        summary="Create a project (creator)",
        guards=[allow(Role.creator)],
        operation_id="createProject",
        description=(
            "Creates the caller's project with its reward tiers and playback policy. Needs an `Idempotency-Key`; a "
            "retry replays the first answer."
        ),
    )
    async def create_project(
        self,
        data: JSONBody[ProjectCreate],
        principal: NamedDependency[Principal],
        idempotency: NamedDependency[Idempotency],
    ) -> Response[ProjectRead]:
        return await idempotency.run(lambda session: services.create_project(session, principal, data))

    @get(
        "/projects/{project_id:uuid}",
        summary="Read a project with its tiers and playback policy",
        operation_id="getProject",
        description="A project with its reward tiers, funding totals and playback policy.",
    )
    async def get_project(
        self,
        project_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        state: AppState,
    ) -> ProjectRead:
        async with state.db.transaction() as session:
            return await services.get_project(session, principal, project_id)

    @get(
        "/feed",
        summary="Live projects, newest first",
        operation_id="listFeed",
        description="Projects that are live, newest first, with their reward tiers; paged with `next_cursor`.",
    )
    async def feed(
        self,
        principal: NamedDependency[Principal],
        state: AppState,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> FeedPage:
        async with state.db.transaction() as session:
            return await services.feed(session, cursor, limit)

    @post(
        "/projects/{project_id:uuid}/updates",
        status_code=201,
        summary="Post a campaign update (the creator)",
        guards=[allow(Role.creator)],
        operation_id="addProjectUpdate",
        description=(
            "Posts a campaign update to the project's backers (the project's creator only). Needs an `Idempotency-Key`."
        ),
    )
    async def add_update(
        self,
        project_id: FromPath[uuid.UUID],
        data: JSONBody[ProjectUpdateCreate],
        principal: NamedDependency[Principal],
        idempotency: NamedDependency[Idempotency],
    ) -> Response[ProjectUpdateRead]:
        return await idempotency.run(lambda session: services.add_update(session, principal, project_id, data))
