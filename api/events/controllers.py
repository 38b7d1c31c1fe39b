"""POST /v1/events: the entry point of client product events (signed in or not)."""

from __future__ import annotations

from litestar import Controller, Request, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import RawBody

from api.auth import Principal
from api.events import services
from api.events.schemas import Accepted


class EventsController(Controller):
    path = "/v1/events"
    tags = ["events"]
    security = [{}, {"BearerAuth": []}]  # a JWT, or none for signed-out users (events then carry anonymous_id)

    @post(
        "/",
        status_code=202,
        summary="Land a batch of product events",
        description='Body `{"events": [...]}`: at most 500 elements and 1 MiB. Every element is landed as-is '
        "for the pipeline to validate against event-contract-v1; rate limited per client.",
    )
    async def land(
        self,
        body: RawBody,
        request: Request,  # type: ignore[type-arg]
        state: State,
        optional_principal: NamedDependency[Principal | None],
    ) -> Accepted:
        host = request.client.host if request.client else "unknown"
        client = str(optional_principal.user_id) if optional_principal else f"ip:{host}"
        return await services.land(state.db, client, body)
