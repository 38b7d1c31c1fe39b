"""Headers that routes read and write themselves, in the OpenAPI document iOS generates its client from.

A route names the request headers it reads in `opt={"request_headers": [...]}` and the headers it answers
with in `opt={"answer_headers": [...]}` (the tus routes do); every route that runs through `Idempotency`
gets `Idempotency-Key` (and its answer `Idempotent-Replayed`). The routes still check the request headers
themselves, so a missing or bad one is answered with the route's own problem code, not a generic
validation error.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass

from litestar.datastructures import ResponseHeader
from litestar.openapi.spec import OpenAPIHeader, OpenAPIResponse, OpenAPIType, Operation, Parameter, Schema
from litestar.plugins import ReceiveRoutePlugin
from litestar.routes import BaseRoute, HTTPRoute

from api.idempotency import IDEMPOTENCY_KEY_PARAMETER, REPLAY_HEADER


def header(name: str, description: str, *, required: bool = False, schema: Schema | None = None) -> Parameter:
    return Parameter(
        name=name,
        param_in="header",
        required=required,
        schema=schema or Schema(type=OpenAPIType.STRING),
        description=description,
    )


@dataclass(frozen=True)
class AnswerHeader:
    """A header a route answers with: on its success answer, on the statuses `on` names, or on `every` answer."""

    name: str
    description: str
    schema: Schema
    required: bool = False  # always sent (on the answers it is documented on)
    on: tuple[int, ...] = ()  # none: the success answer
    every: bool = False

    def answered_with(self, status: str, success: str | None) -> bool:
        return self.every or (int(status) in self.on if self.on else status == success)

    def openapi(self) -> OpenAPIHeader:
        return OpenAPIHeader(schema=self.schema, description=self.description, required=self.required)


def _with_headers(
    operation_class: type[Operation], added: Sequence[Parameter], answered: Sequence[AnswerHeader]
) -> type[Operation]:
    @dataclass
    class WithHeaders(operation_class):  # type: ignore[valid-type,misc]
        def __post_init__(self) -> None:
            if hasattr(super(), "__post_init__"):
                super().__post_init__()
            if added:
                parameters: list[Parameter] = list(getattr(self, "parameters", None) or [])
                self.parameters = [*parameters, *added]
            responses = self.responses or {}
            success = min((code for code in responses if code.startswith("2")), default=None)
            for code, response in responses.items():
                if not isinstance(response, OpenAPIResponse):
                    continue
                headers = {h.name: h.openapi() for h in answered if h.answered_with(code, success)}
                if headers:
                    response.headers = {**(response.headers or {}), **headers}

    return WithHeaders


_SECONDS = Schema(type=OpenAPIType.INTEGER, minimum=0)
# Every route may be refused for a while (the database away, a rate limit): the answer says when to retry.
RETRY_AFTER = AnswerHeader("Retry-After", "Seconds to wait before retrying", _SECONDS, required=True, on=(429, 503))
IN_USE_RETRY_AFTER = AnswerHeader(
    "Retry-After",
    "With `idempotency_key_in_use`: seconds to wait before retrying with the same key",
    _SECONDS,
    on=(409,),
)

REPLAYED_HEADER = ResponseHeader(
    name=REPLAY_HEADER,
    value="true",  # documents the header as a string (its schema)
    description="`true` when this answer replays the first one given for the same Idempotency-Key and body",
    documentation_only=True,
)


class DocumentedHeaders(ReceiveRoutePlugin):
    def receive_route(self, route: BaseRoute) -> None:
        if not isinstance(route, HTTPRoute):
            return
        for handler in route.route_handlers:
            added: list[Parameter] = list(handler.opt.get("request_headers", ()))
            answered: list[AnswerHeader] = [*handler.opt.get("answer_headers", ()), RETRY_AFTER]
            if "idempotency" in inspect.signature(handler.fn).parameters:
                added.append(IDEMPOTENCY_KEY_PARAMETER)
                answered.append(IN_USE_RETRY_AFTER)
                handler.response_headers = [*(handler.response_headers or ()), REPLAYED_HEADER]
            handler.operation_class = _with_headers(handler.operation_class, added, answered)
