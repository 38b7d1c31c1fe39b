"""The contract suite's document under test, one user per role, and a few real resources."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.auth import Role, issue_token
from api.settings import Settings, settings_from
from tests.api.projects.flows import project_body
from tests.conftest import JWT_SECRET


def document_under_test() -> dict[str, Any]:
    """The app's own OpenAPI document, built at collection time (the served one is asserted equal to it).

    Built eagerly because `schemathesis.pytest.from_fixture` reads `Function._nodeid`, which pytest 9.2 removed.
    """
    test_settings = settings_from({"PATRONAGE_ENV": "test", "PATRONAGE_JWT_SECRET": JWT_SECRET})
    document: dict[str, Any] = create_app(test_settings).openapi_schema.to_schema()
    return document


DOCUMENT = document_under_test()


@dataclass(frozen=True)
class Caller:
    user_id: uuid.UUID
    token: str

    @property
    def authorization(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


Callers = dict[Role, Caller]


@pytest.fixture(scope="session")
def callers(settings: Settings) -> Callers:
    """One user per role for the whole run, so what the creator and supporter made stays theirs."""
    ids = {role: uuid.uuid4() for role in Role}
    return {role: Caller(ids[role], issue_token(settings.auth, ids[role], role)) for role in Role}


@pytest.fixture
def seeded_ids(live_url: str, callers: Callers, client: AsyncTestClient[Litestar]) -> dict[str, str]:
    """Real ids (by path parameter name) the generator mixes into its random ones, so 2xx answers get checked too.

    Depends on `client` only for its teardown: the tables are emptied after the test.
    """

    def post(role: Role, path: str, body: dict[str, Any]) -> dict[str, Any]:
        headers = {**callers[role].authorization, "Idempotency-Key": str(uuid.uuid4())}
        response = httpx.post(f"{live_url}{path}", json=body, headers=headers, timeout=30)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    project = post(Role.creator, "/v1/projects", project_body())
    tier = project["reward_tiers"][0]
    support = post(
        Role.supporter,
        f"/v1/projects/{project['project_id']}/supports/prepare",
        {"tier_id": tier["tier_id"], "amount_minor": tier["amount_minor"], "currency": "EUR"},
    )
    check = post(Role.ops, "/v1/reconciliation/checks", {"from_date": "2026-01-01", "to_date": "2026-01-31"})
    return {
        "project_id": project["project_id"],
        "support_id": support["support_id"],
        "check_id": check["check_id"],
    }
