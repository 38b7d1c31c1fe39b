"""Typed domain errors and the one mapping from any exception to RFC 9457 problem+json.

A domain error carries its HTTP status and a stable snake_case `code`; routes raise them and
never build error responses themselves.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Annotated, Any, ClassVar

import msgspec
from litestar import Request, Response
from litestar.exceptions import (
    ClientException,
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
    SerializationException,
    ValidationException,
)
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.plugins import ReceiveRoutePlugin
from litestar.routes import BaseRoute, HTTPRoute
from litestar.types import ExceptionHandlersMap
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from api.db.failures import is_connection_failure

log = logging.getLogger(__name__)

MAX_JSON_DEPTH = 64  # api.md: JSON nested deeper than this is refused (400 malformed_json), never a 500

PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_SECONDS = 5
PROBLEM_CODE_PATTERN = "^[a-z][a-z0-9]*(_[a-z0-9]+)*$"  # stable snake_case: clients switch on it


class FieldError(msgspec.Struct):
    path: str
    message: str


class Problem(msgspec.Struct, omit_defaults=True):
    """RFC 9457 problem details, as every error response of the API is shaped."""

    type: str
    title: str
    status: Annotated[int, msgspec.Meta(ge=400, le=599)]
    detail: str
    code: Annotated[str, msgspec.Meta(pattern=PROBLEM_CODE_PATTERN)]
    errors: list[FieldError] | None = None


class DomainError(Exception):
    """Base of every error the API answers on purpose."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"

    def __init__(self, detail: str, *, errors: list[FieldError] | None = None, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}


class ValidationFailed(DomainError):
    status, code = 422, "validation_failed"


class MalformedBody(DomainError):
    status, code = 400, "malformed_json"


class UnsupportedMediaType(DomainError):
    status, code = 415, "unsupported_media_type"


class Unauthorized(DomainError):
    status, code = 401, "unauthorized"


class Forbidden(DomainError):
    status, code = 403, "forbidden"


class NotFound(DomainError):
    status, code = 404, "not_found"


class Conflict(DomainError):
    status, code = 409, "conflict"


class ServiceUnavailable(DomainError):
    status, code = 503, "service_unavailable"


# Status → code for framework-raised HTTP errors that no domain error covers.
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def problem_response(
    status: int,
    code: str,
    detail: str,
    *,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[Problem]:
    title = HTTPStatus(status).phrase
    body = Problem(
        type=f"https://patronage.dev/problems/{code}",
        title=title,
        status=status,
        detail=detail,
        code=code,
        errors=errors,
    )
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _domain(_: Request[Any, Any, Any], exc: DomainError) -> Response[Problem]:
    return problem_response(exc.status, exc.code, exc.detail, errors=exc.errors, headers=exc.headers)


def _validation(_: Request[Any, Any, Any], exc: ValidationException) -> Response[Problem]:
    errors = [
        FieldError(path=_json_path(item.get("key")), message=str(item.get("message", "invalid value")))
        for item in (exc.extra if isinstance(exc.extra, list) else [])
        if isinstance(item, dict)
    ]
    return problem_response(422, "validation_failed", "The request did not match the documented schema.", errors=errors)


def _json_path(key: object) -> str:
    if not key:
        return "$"
    return "$." + str(key).removeprefix("$.").removeprefix("data.")


def _http(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Problem]:
    if isinstance(exc, ClientException) and isinstance(exc.__cause__, SerializationException):
        return problem_response(400, "malformed_json", "The request body is not valid UTF-8 JSON.")
    status = exc.status_code
    if status >= 500:
        log.error("server error answered: %s", exc.detail)
        return problem_response(500, "internal_error", "An unexpected error occurred.")
    code = _HTTP_CODES.get(status, "bad_request")
    detail = {401: "Authentication is required.", 403: "Not allowed.", 413: "The request body is too large."}.get(
        status, str(exc.detail)
    )
    headers = dict(exc.headers or {})
    return problem_response(status, code, detail, headers=headers)


def _database_unavailable(_: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    log.warning("database unavailable: %s", type(exc).__name__)
    return problem_response(
        503,
        "service_unavailable",
        "The database is unavailable; retry later.",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def _dbapi(request: Request[Any, Any, Any], exc: DBAPIError) -> Response[Problem]:
    if exc.connection_invalidated or isinstance(exc, (OperationalError, InterfaceError)) or is_connection_failure(exc):
        return _database_unavailable(request, exc)
    return _internal(request, exc)


def _internal(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    if is_connection_failure(exc):
        return _database_unavailable(request, exc)
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(500, "internal_error", "An unexpected error occurred.")


# The problems any route may answer (405 aside: OpenAPI documents methods, not their absence).
DOCUMENTED_PROBLEMS = (400, 401, 403, 404, 409, 413, 422, 429, 503)


class DocumentedProblems(ReceiveRoutePlugin):
    """Documents the problem+json answers on every operation, so the OpenAPI contract lists what routes return.

    Replaces Litestar's generated 400 (its own ValidationException shape, which this API never sends).
    A route documents its own answer for a status with `responses=`; `opt={"problems": False}` opts out.
    """

    def receive_route(self, route: BaseRoute) -> None:
        if not isinstance(route, HTTPRoute):
            return
        for handler in route.route_handlers:
            if handler.opt.get("problems", True):
                handler.responses = {**_problem_specs(handler), **(handler.responses or {})}


def problem_specs(*statuses: int) -> dict[int, ResponseSpec]:
    """problem+json answers for `statuses`, as OpenAPI response specs (routes add their own with `responses=`)."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            media_type=PROBLEM_JSON,
            description=HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else f"Error {status}",
            generate_examples=False,
        )
        for status in statuses
    }


def _problem_specs(handler: HTTPRouteHandler) -> dict[int, ResponseSpec]:
    unauthenticated = handler.resolve_security() == [{}]  # signature-only routes never answer 401/403
    return problem_specs(*(s for s in DOCUMENTED_PROBLEMS if not (unauthenticated and s in (401, 403))))


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    DomainError: _domain,
    ValidationException: _validation,
    NotAuthorizedException: _http,
    PermissionDeniedException: _http,
    HTTPException: _http,
    DBAPIError: _dbapi,
    Exception: _internal,
}
