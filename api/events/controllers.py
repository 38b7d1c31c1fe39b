"""POST /v1/events: the entry point of client product events (signed in or not)."""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import RawBody

from api.auth import Principal
from api.errors import problem_specs
from api.events import services
from api.events.schemas import MAX_EVENTS_PER_BATCH, Accepted
from api.state import AppState


@dataclass
class LandEventsOperation(Operation):
    """The handler reads the raw body (elements are landed byte for byte), so its shape is documented here."""

    def __post_init__(self) -> None:
        batch = Schema(
            type=OpenAPIType.OBJECT,
            required=["events"],
            properties={
                "events": Schema(
                    type=OpenAPIType.ARRAY,
                    max_items=MAX_EVENTS_PER_BATCH,
                    items=Schema(type=OpenAPIType.OBJECT, description="An event of event-contract-v1"),
                )
            },
            additional_properties=False,
        )
        self.request_body = RequestBody(content={"application/json": OpenAPIMediaType(schema=batch)}, required=True)


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
        operation_class=LandEventsOperation,
        opt={"access": "optional"},
        responses=problem_specs(415),  # a body not sent as application/json
        operation_id="landEvents",
    )
    async def land(
        self,
        body: RawBody,
        request: Request,  # type: ignore[type-arg]
        state: AppState,
        optional_principal: NamedDependency[Principal | None],
    ) -> Accepted:
        host = request.client.host if request.client else "unknown"
        client = str(optional_principal.user_id) if optional_principal else f"ip:{host}"
        services.require_json(request.headers.get("content-type", ""))
        async with state.db.transaction() as session:
            return await services.land(session, client, body)
