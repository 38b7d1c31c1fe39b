"""X-001: the running API honours its own OpenAPI document, operation by operation (schemathesis).

Every documented operation gets generated requests (valid and invalid) over real HTTP, with the token of
the role its route requires and a fresh Idempotency-Key on every POST. Checked on every response: no 5xx,
a documented status code, content type, headers and body schema, and every 4xx is problem+json.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import hypothesis.strategies as st
import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis import Case, CheckContext, HookContext, Response
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.auth import Role, issue_token
from api.errors import PROBLEM_CODE_PATTERN, PROBLEM_JSON
from api.settings import Settings
from tests.contract.conftest import DOCUMENT, Callers

WEBHOOK = "/v1/payments/webhooks/stripe"
OPS_PREFIXES = ("/v1/journal", "/v1/reconciliation", "/v1/disputes", "/v1/ops", "/v1/moderation")
CREATOR_ROUTES = {
    ("POST", "/v1/projects"),
    ("POST", "/v1/projects/{project_id}/updates"),
    ("GET", "/v1/projects/{project_id}/payouts"),
}
SUPPORTER_PREFIXES = ("/v1/supports", "/v1/me")
SUPPORTER_ROUTES = {
    ("POST", "/v1/projects/{project_id}/supports/prepare"),
    ("POST", "/v1/projects/{project_id}/reports"),
}
PROBLEM_FIELDS = {"type", "title", "status", "detail", "code"}


def role_for(method: str, path: str) -> Role:
    """The role the route is for; ops (who may read everything) where a route is open to any role."""
    if path.startswith(OPS_PREFIXES) or path.endswith("/moderation"):
        return Role.ops
    if (method, path) in CREATOR_ROUTES or path.startswith("/v1/uploads"):
        return Role.creator
    if (method, path) in SUPPORTER_ROUTES or path.startswith(SUPPORTER_PREFIXES):
        return Role.supporter
    return Role.ops


@schemathesis.check
def client_errors_are_problems(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """Every 4xx is RFC 9457 problem+json with the fields clients rely on and a snake_case `code`."""
    if not 400 <= response.status_code < 500 or case.method.upper() == "HEAD":
        return None
    media_type = response.headers.get("content-type", [""])[0].split(";")[0].strip()
    assert media_type == PROBLEM_JSON, f"a {response.status_code} answered {media_type!r}, not {PROBLEM_JSON}"
    body = response.json()
    assert isinstance(body, dict), f"the problem is not an object: {body!r}"
    missing = PROBLEM_FIELDS - body.keys()
    assert not missing, f"the problem lacks {sorted(missing)}: {body!r}"
    assert body["status"] == response.status_code, f"status {body['status']} in a {response.status_code} answer"
    assert isinstance(body["code"], str), f"code is not a string: {body!r}"
    assert re.fullmatch(PROBLEM_CODE_PATTERN, body["code"]), f"code {body['code']!r} is not snake_case"
    return None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    client_errors_are_problems,
]


# tus PATCH bodies are raw bytes, as application/octet-stream ones are.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
schema = schemathesis.openapi.from_dict(DOCUMENT)
SEEDED_IDS: dict[str, str] = {}  # filled per run by `seeded`: real ids, by path parameter name


@schema.hook("before_generate_path_parameters")
def mix_in_seeded_ids(context: HookContext, strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Half the generated paths name a resource that exists, so 2xx answers are checked too."""

    def with_seeded_ids(path_parameters: Any) -> Any:
        if not isinstance(path_parameters, dict):  # None without path parameters; anything in negative cases
            return path_parameters
        return {name: SEEDED_IDS.get(name, value) for name, value in path_parameters.items()}

    return st.one_of(strategy, strategy.map(with_seeded_ids))


@pytest.fixture
def seeded(seeded_ids: dict[str, str]) -> Iterator[None]:
    SEEDED_IDS.update(seeded_ids)
    yield
    SEEDED_IDS.clear()


def test_the_served_document_is_the_one_under_test(live_url: str) -> None:
    assert httpx.get(f"{live_url}/schema/openapi.json").json() == DOCUMENT


@hypothesis_settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
@schema.parametrize()
@pytest.mark.usefixtures("seeded")
def test_api_honours_its_openapi_document(case: Case[Any], live_url: str, callers: Callers, settings: Settings) -> None:
    method, path = case.operation.method.upper(), case.operation.path
    headers: dict[str, str] = {}
    if path != WEBHOOK:  # Stripe authenticates by signature only
        token = callers[role_for(method, path)].token
        if path == "/v1/events":  # a fresh client each time: the route is rate limited per client
            token = issue_token(settings.auth, uuid.uuid4(), Role.supporter)
        headers["Authorization"] = f"Bearer {token}"
    if case.method.upper() == "POST":
        headers["Idempotency-Key"] = str(uuid.uuid4())
    response = case.call_and_validate(base_url=live_url, headers=headers, checks=CHECKS)
    if path == WEBHOOK and case.method.upper() == method:  # a generated body never carries a valid signature
        # Nothing is parsed before the signature verifies: a body that is not even UTF-8 is unsigned too.
        assert (response.status_code, response.json().get("code")) == (400, "invalid_signature"), response.text
