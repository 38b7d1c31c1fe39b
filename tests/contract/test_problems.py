"""One structured problem+json per error class, checked against the *documented* contract.

What each error means and that it writes nothing is asserted where the behaviour lives
(`tests/api/test_errors.py`: malformed JSON, 422 paths, 413, 404/405, 500; `tests/api/test_auth.py`: 401/403;
`tests/api/test_idempotency.py`: 400/409/422 of Idempotency-Key; `tests/api/supports/`: `invalid_transition`;
`tests/api/events/test_ingestion.py`: 429; `tests/api/payments/test_webhooks.py`: `invalid_signature`;
`tests/api/db/test_unavailable.py`: 503). Here, one request per class over real HTTP asserts the shape
clients code against: the documented Problem schema, `type`/`title` derived from `code`/`status`, the status
listed for the operation in the OpenAPI document, and the headers the spec promises (WWW-Authenticate,
Retry-After). It also pins the 5xx that schemathesis found (NUL in text, out-of-range instants) as 422s.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import httpx
import jsonschema_rs
import pytest

from api.app import MAX_BODY_BYTES
from api.auth import Role, issue_token
from api.errors import PROBLEM_CODE_PATTERN, PROBLEM_JSON
from api.events.services import BATCHES_PER_MINUTE
from api.settings import Settings
from tests.api.projects.flows import project_body
from tests.contract.conftest import DOCUMENT, Callers

PROBLEM_SCHEMA = jsonschema_rs.validator_for(
    {"$ref": "#/components/schemas/Problem", "components": DOCUMENT["components"]}
)


def out_of_range_cursor() -> str:
    position = json.dumps(["0001-01-01T00:00:00+14:00", str(uuid.uuid4())]).encode()
    return base64.urlsafe_b64encode(position).decode().rstrip("=")


@dataclass(frozen=True)
class ErrorClass:
    status: int
    code: str
    method: str
    path: str  # formatted with the seeded ids: {project_id}, {support_id}
    role: Role | None = Role.ops  # None: no Authorization header
    body: Any = None
    raw: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    idempotency_key: bool = True
    documented_as: str | None = None  # the operation's path in the document, when `path` is not one


CASES = {
    "validation": ErrorClass(
        422, "validation_failed", "POST", "/v1/projects", Role.creator, project_body(goal_minor="x")
    ),
    "malformed_json": ErrorClass(400, "malformed_json", "POST", "/v1/projects", Role.creator, raw=b'{"title": '),
    "idempotency_key_required": ErrorClass(
        400, "idempotency_key_required", "POST", "/v1/projects", Role.creator, project_body(), idempotency_key=False
    ),
    "no_token": ErrorClass(401, "unauthorized", "GET", "/v1/feed", role=None),
    "bad_token": ErrorClass(401, "unauthorized", "GET", "/v1/feed", None, headers={"Authorization": "Bearer nope"}),
    "wrong_role": ErrorClass(403, "forbidden", "POST", "/v1/projects", Role.supporter, project_body()),
    "not_found": ErrorClass(
        404, "project_not_found", "GET", f"/v1/projects/{uuid.uuid4()}", documented_as="/v1/projects/{project_id}"
    ),
    "no_such_route": ErrorClass(404, "not_found", "GET", "/v1/nothing-here"),
    "method_not_allowed": ErrorClass(405, "method_not_allowed", "DELETE", "/v1/feed"),
    "invalid_transition": ErrorClass(
        409, "invalid_transition", "POST", "/v1/supports/{support_id}/cancel", Role.supporter
    ),
    "payload_too_large": ErrorClass(
        413, "payload_too_large", "POST", "/v1/projects", Role.creator, project_body(description="x" * MAX_BODY_BYTES)
    ),
    "nul_in_text": ErrorClass(
        422, "validation_failed", "PUT", "/v1/me/contact", Role.supporter, {"email": "a\x00@b.c"}
    ),
    "instant_out_of_range": ErrorClass(
        422, "validation_failed", "GET", "/v1/journal/entries?since=0001-01-01T00:00:00%2B14:00"
    ),
    "cursor_out_of_range": ErrorClass(422, "validation_failed", "GET", f"/v1/feed?cursor={out_of_range_cursor()}"),
    "invalid_signature": ErrorClass(
        400, "invalid_signature", "POST", "/v1/payments/webhooks/stripe", None, {"id": "evt_1"}, idempotency_key=False
    ),
}


def send(live_url: str, callers: Callers, case: ErrorClass, ids: dict[str, str]) -> httpx.Response:
    headers = {"Content-Type": "application/json", **case.headers}
    if case.role is not None:
        headers.update(callers[case.role].authorization)
    if case.idempotency_key:
        headers["Idempotency-Key"] = str(uuid.uuid4())
    content = case.raw if case.raw is not None else None if case.body is None else json.dumps(case.body).encode()
    url = live_url + case.path.format(**ids)
    return httpx.request(case.method, url, headers=headers, content=content, timeout=30)


def assert_documented_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].split(";")[0] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    PROBLEM_SCHEMA.validate(body)
    assert (body["status"], body["code"]) == (status, code)
    assert body["type"] == f"https://patronage.dev/problems/{code}"
    assert body["title"] == HTTPStatus(status).phrase
    assert re.fullmatch(PROBLEM_CODE_PATTERN, body["code"])
    return body


def documented_statuses(method: str, path: str) -> set[int]:
    operation = DOCUMENT["paths"][path.split("?")[0]][method.lower()]
    return {int(status) for status in operation["responses"]}


@pytest.mark.parametrize("name", CASES)
def test_each_error_class_is_one_documented_problem(
    name: str, live_url: str, callers: Callers, seeded_ids: dict[str, str]
) -> None:
    case = CASES[name]
    response = send(live_url, callers, case, seeded_ids)
    body = assert_documented_problem(response, case.status, case.code)
    if case.status == 405:  # OpenAPI documents the methods a path has, not the ones it lacks
        assert response.headers["allow"]
    elif case.code != "not_found":  # an unknown route has no operation to document it
        assert case.status in documented_statuses(case.method, case.documented_as or case.path)
    if case.status == 401 and case.role is None and not case.headers:
        assert response.headers["www-authenticate"] == "Bearer"
    if case.status == 422 and case.code == "validation_failed":
        assert body["errors"], body


@pytest.mark.usefixtures("client")  # for its teardown: the rate-limit window is emptied after the test
def test_rate_limited_is_a_documented_problem_with_retry_after(live_url: str, settings: Settings) -> None:
    token = issue_token(settings.auth, uuid.uuid4(), Role.supporter)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with httpx.Client(base_url=live_url, headers=headers, timeout=30) as http:
        for _ in range(2 * (BATCHES_PER_MINUTE + 1)):  # a minute boundary may reset the window once
            response = http.post("/v1/events", content=b'{"events": []}')
            if response.status_code != 202:
                break
    assert_documented_problem(response, 429, "rate_limited")
    assert int(response.headers["retry-after"]) > 0
    assert 429 in documented_statuses("POST", "/v1/events")
