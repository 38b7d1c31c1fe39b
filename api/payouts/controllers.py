"""HTTP routes of payouts: the project's schedule, for its creator and ops."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from api.auth import Principal, Role, allow
from api.pagination import DEFAULT_LIMIT, MAX_LIMIT
from api.payouts import services
from api.payouts.schemas import PayoutPage
from api.state import AppState

Limit = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT, description="Page size.")]
Cursor = Annotated[str | None, QueryParameter(description="next_cursor of the previous page.")]


class PayoutController(Controller):
    path = "/v1"
    tags = ["payouts"]

    @get(
        "/projects/{project_id:uuid}/payouts",
        summary="The project's payouts, oldest execution date first",
        guards=[allow(Role.creator, Role.ops)],
        operation_id="listProjectPayouts",
        description=(
            "The project's payouts with their execution dates (business days of the payout country) and status; the "
            "project's creator and ops may read them."
        ),
    )
    async def list_payouts(
        self,
        project_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        state: AppState,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> PayoutPage:
        async with state.db.transaction() as session:  # a read that may first write the lazy schedule
            return await services.project_payouts(
                session,
                principal,
                project_id,
                cursor=cursor,
                limit=limit,
                now=datetime.now(UTC),
                country=state.settings.payout_country,
            )
