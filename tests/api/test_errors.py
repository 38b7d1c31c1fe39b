"""Every class of bad input gets its documented status and problem+json code, and writes nothing."""

from __future__ import annotations

import json
import uuid

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.app import MAX_BODY_BYTES
from tests.api.flows import assert_problem
from tests.api.projects.flows import project_body
from tests.conftest import MakeUser


async def post_raw(client: AsyncTestClient[Litestar], headers: dict[str, str], content: bytes) -> object:
    return await client.post("/v1/projects", content=content, headers={**headers, "Content-Type": "application/json"})


async def test_malformed_json_is_400(client: AsyncTestClient[Litestar], make_user: MakeUser) -> None:
    response = await post_raw(client, make_user("creator").posting(), b'{"title": ')
    assert_problem(response, 400, "malformed_json")


async def test_body_that_is_not_utf8_is_400(client: AsyncTestClient[Litestar], make_user: MakeUser) -> None:
    body = (
        json.dumps(project_body(title="caf\u00e9"), ensure_ascii=False)
        .encode()
        .replace("caf\u00e9".encode(), b"caf\xe9")
    )
    response = await post_raw(client, make_user("creator").posting(), body)
    assert_problem(response, 400, "malformed_json")


async def test_json_nested_deeper_than_64_levels_is_400(client: AsyncTestClient[Litestar], make_user: MakeUser) -> None:
    nested: object = "x"
    for _ in range(65):
        nested = [nested]
    response = await post_raw(
        client, make_user("creator").posting(), json.dumps(project_body(description=nested)).encode()
    )
    assert_problem(response, 400, "malformed_json")
    deep = b"[" * 100_000 + b"]" * 100_000
    assert_problem(await post_raw(client, make_user("creator").posting(), deep), 400, "malformed_json")


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"goal_minor": "lots"}, "$.goal_minor"),
        ({"goal_minor": 2**63}, "$.goal_minor"),
        ({"goal_minor": -5}, "$.goal_minor"),
        ({"currency": "usd"}, "$.currency"),
        ({"is_admin": True}, "$"),
        ({"reward_tiers": []}, "$.reward_tiers"),
        ({"reward_tiers": [{"title": "x", "amount_minor": 1, "reward_type": "nft"}]}, "$.reward_tiers"),
    ],
)
async def test_schema_violations_are_422_with_paths(
    client: AsyncTestClient[Litestar],
    make_user: MakeUser,
    sql: asyncpg.Connection,
    change: dict[str, object],
    path: str,
) -> None:
    response = await client.post("/v1/projects", json=project_body(**change), headers=make_user("creator").posting())
    body = assert_problem(response, 422, "validation_failed")
    errors = body["errors"]
    assert isinstance(errors, list)
    assert errors
    assert errors[0]["path"].startswith(path)
    assert await sql.fetchval("select count(*) from projects") == 0
    assert await sql.fetchval("select count(*) from idempotency_keys") == 0


async def test_missing_body_is_422(client: AsyncTestClient[Litestar], make_user: MakeUser) -> None:
    response = await client.post("/v1/projects", headers=make_user("creator").posting())
    assert_problem(response, 422, "validation_failed")


async def test_oversize_body_is_413(client: AsyncTestClient[Litestar], make_user: MakeUser) -> None:
    body = json.dumps(project_body(description="x" * MAX_BODY_BYTES)).encode()
    assert_problem(await post_raw(client, make_user("creator").posting(), body), 413, "payload_too_large")


async def test_unknown_route_and_method(client: AsyncTestClient[Litestar], make_user: MakeUser) -> None:
    assert_problem(await client.get("/v1/nothing-here", headers=make_user().headers), 404, "not_found")
    assert_problem(await client.delete("/v1/feed", headers=make_user().headers), 405, "method_not_allowed")


async def test_path_parameter_that_is_not_a_uuid_is_a_client_error(
    client: AsyncTestClient[Litestar], make_user: MakeUser
) -> None:
    response = await client.get("/v1/projects/not-a-uuid", headers=make_user().headers)
    assert response.status_code in (404, 422)
    assert response.json()["code"] in ("not_found", "validation_failed")


async def test_unexpected_errors_are_500_problems_without_internals(
    client: AsyncTestClient[Litestar], make_user: MakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.projects import services

    async def boom(*_: object) -> None:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(services, "feed", boom)
    response = await client.get("/v1/feed", headers=make_user().headers)
    body = assert_problem(response, 500, "internal_error")
    assert "secret" not in json.dumps(body)


async def test_foreign_token_and_ids_never_leak(client: AsyncTestClient[Litestar], make_user: MakeUser) -> None:
    response = await client.get(f"/v1/projects/{uuid.uuid4()}", headers=make_user().headers)
    assert_problem(response, 404, "project_not_found")
