"""Request headers that routes read themselves, in the OpenAPI document iOS generates its client from.

A route names them in `opt={"request_headers": [...]}` (the tus routes do); every route that runs
through `Idempotency` gets `Idempotency-Key` (and its answer `Idempotent-Replayed`). The routes still
check the headers themselves, so a missing or bad one is answered with the route's own problem code,
not a generic validation error.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass

from litestar.datastructures import ResponseHeader
from litestar.openapi.spec import OpenAPIType, Operation, Parameter, Schema
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


def _with_parameters(operation_class: type[Operation], added: Sequence[Parameter]) -> type[Operation]:
    @dataclass
    class WithHeaders(operation_class):  # type: ignore[valid-type,misc]
        def __post_init__(self) -> None:
            if hasattr(super(), "__post_init__"):
                super().__post_init__()
            parameters: list[Parameter] = list(getattr(self, "parameters", None) or [])
            self.parameters = [*parameters, *added]

    return WithHeaders


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
            if "idempotency" in inspect.signature(handler.fn).parameters:
                added.append(IDEMPOTENCY_KEY_PARAMETER)
                handler.response_headers = [*(handler.response_headers or ()), REPLAYED_HEADER]
            if added:
                handler.operation_class = _with_parameters(handler.operation_class, added)
