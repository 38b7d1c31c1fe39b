"""HTTP routes of moderation: report a project, the ops view of a project, decide a review case."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from api.auth import Principal, Role, allow
from api.idempotency import Idempotency
from api.moderation import services
from api.moderation.schemas import ProjectModeration, ReportCreate, ReportCreated, ReviewDecision, ReviewRead
from api.state import AppState


class ModerationController(Controller):
    path = "/v1"
    tags = ["moderation"]

    @post(
        "/projects/{project_id:uuid}/reports",
        status_code=201,
        summary="Report a project (any signed-in user)",
        operation_id="reportProject",
        description=(
            "Reports a project for moderation; reports are weighted by the reporter's trust and may open a review "
            "case. Needs an `Idempotency-Key`."
        ),
    )
    async def report(
        self,
        project_id: FromPath[uuid.UUID],
        data: JSONBody[ReportCreate],
        principal: NamedDependency[Principal],
        idempotency: NamedDependency[Idempotency],
    ) -> Response[ReportCreated]:
        return await idempotency.run(
            lambda session: services.report(session, principal, project_id, data, datetime.now(UTC))
        )

    @get(
        "/projects/{project_id:uuid}/moderation",
        summary="A project's reports and review cases (ops)",
        guards=[allow(Role.ops)],
        operation_id="getProjectModeration",
        description="Every report on the project and its review cases, for ops.",
    )
    async def project_moderation(
        self,
        project_id: FromPath[uuid.UUID],
        state: AppState,
    ) -> ProjectModeration:
        async with state.db.transaction() as session:
            return await services.project_moderation(session, project_id)

    @post(
        "/moderation/reviews/{review_id:uuid}/decision",
        status_code=200,
        summary="Decide a review case (ops)",
        guards=[allow(Role.ops)],
        operation_id="decideReview",
        description=(
            "Closes a moderation review case with a decision (keep, restrict or remove the project) and a note; a "
            "decided case cannot be decided again (409)."
        ),
    )
    async def decide(
        self,
        review_id: FromPath[uuid.UUID],
        data: JSONBody[ReviewDecision],
        principal: NamedDependency[Principal],
        state: AppState,
    ) -> ReviewRead:
        async with state.db.transaction() as session:
            return await services.decide(session, principal, review_id, data, datetime.now(UTC))
