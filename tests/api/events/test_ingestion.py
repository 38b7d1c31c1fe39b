"""POST /v1/events lands every element as-is, atomically; limits are answered with codes."""

from __future__ import annotations

import json

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.events import services
from tests.api.flows import assert_problem
from tests.conftest import MakeUser


async def post(client: AsyncTestClient[Litestar], body: bytes, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return await client.post(
        "/v1/events", content=body, headers={"Content-Type": "application/json", **(headers or {})}
    )


async def test_every_element_is_landed_byte_for_byte(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    elements = [
        b'{"event_id": "e1",   "event_name": "app_open", "properties": {"launch": "cold"}}',
        b"[1, 2, 3]",
        b'"just a string"',
        b'{"no_id": true, "amount": 1.50e3}',
        '{"name": "caf\u00e9 \u2615"}'.encode(),
    ]
    body = b'{"events": [' + b", ".join(elements) + b"]}"
    response = await post(client, body, make_user().headers)
    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": 5}
    rows = await sql.fetch("select source, raw from event_landing order by landing_id")
    assert [r["raw"].encode() for r in rows] == elements
    assert {r["source"] for r in rows} == {"client"}


async def test_signed_out_clients_may_send_events(client: AsyncTestClient[Litestar], sql: asyncpg.Connection) -> None:
    response = await post(client, json.dumps({"events": [{"anonymous_id": "device-1"}]}).encode())
    assert response.status_code == 202
    assert await sql.fetchval("select count(*) from event_landing") == 1
    assert_problem(await post(client, b'{"events": []}', {"Authorization": "Bearer nope"}), 401, "unauthorized")


async def test_more_than_500_events_is_422_and_lands_nothing(
    client: AsyncTestClient[Litestar], sql: asyncpg.Connection
) -> None:
    body = json.dumps({"events": [{"i": i} for i in range(501)]}).encode()
    assert_problem(await post(client, body), 422, "too_many_events")
    assert await sql.fetchval("select count(*) from event_landing") == 0
    assert (await post(client, json.dumps({"events": [{"i": i} for i in range(500)]}).encode())).json() == {
        "accepted": 500
    }


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b'{"events": [', 400, "malformed_json"),
        (b"\xff\xfe", 400, "malformed_json"),
        (b"[]", 422, "validation_failed"),
        (b'{"events": {}}', 422, "validation_failed"),
        (b'{"events": [], "extra": 1}', 422, "validation_failed"),
        (b"", 400, "malformed_json"),
        (b'{"events": [{"ok": 1}, "\xff"]}', 400, "malformed_json"),  # not UTF-8 inside an element
        (b'{"events": [' + b"[" * 2000 + b"]" * 2000 + b"]}", 400, "malformed_json"),  # deeper than msgspec goes
        (b'{"events": [' + b"[" * 63 + b"]" * 63 + b"]}", 400, "malformed_json"),  # 65 levels in all
        (b'{"events": ["\\ud800" ', 400, "malformed_json"),  # a surrogate escape in text that is not JSON
        (b'{"events": ["\\ud800"], "extra": 1}', 422, "validation_failed"),
    ],
)
async def test_bad_batches(
    client: AsyncTestClient[Litestar], sql: asyncpg.Connection, body: bytes, status: int, code: str
) -> None:
    assert_problem(await post(client, body), status, code)
    assert await sql.fetchval("select count(*) from event_landing") == 0


async def test_json_with_lone_surrogate_escapes_is_landed_as_it_is(
    client: AsyncTestClient[Litestar], sql: asyncpg.Connection
) -> None:
    """JSON text the contract's decoder refuses is still JSON: landed byte for byte, for the pipeline to dead-letter."""
    elements = [b'{"event_id": "e\\ud800"}', b'"events"', b'{"k": "\\\\ud800 \\ud83d\\ude00"}', b'["\\udfff"]']
    response = await post(client, b'{"events": [ ' + b" ,\n".join(elements) + b"]}")
    assert response.status_code == 202, response.text
    rows = await sql.fetch("select raw from event_landing order by landing_id")
    assert [r["raw"].encode() for r in rows] == elements


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/jsonl", ""])
async def test_a_body_that_is_not_declared_json_is_415(
    client: AsyncTestClient[Litestar], sql: asyncpg.Connection, content_type: str
) -> None:
    response = await client.post("/v1/events", content=b'{"events": [{}]}', headers={"Content-Type": content_type})
    assert_problem(response, 415, "unsupported_media_type")
    assert await sql.fetchval("select count(*) from event_landing") == 0


async def test_json_with_a_charset_is_accepted(client: AsyncTestClient[Litestar]) -> None:
    headers = {"Content-Type": "Application/JSON; charset=utf-8"}
    assert (await client.post("/v1/events", content=b'{"events": [{}]}', headers=headers)).status_code == 202


async def test_bodies_over_1_mib_are_413(client: AsyncTestClient[Litestar]) -> None:
    body = json.dumps({"events": [{"pad": "x" * (1024 * 1024)}]}).encode()
    assert_problem(await post(client, body), 413, "payload_too_large")


async def test_rate_limited_per_client(
    client: AsyncTestClient[Litestar], make_user: MakeUser, monkeypatch: pytest.MonkeyPatch, sql: asyncpg.Connection
) -> None:
    monkeypatch.setattr(services, "BATCHES_PER_MINUTE", 3)
    user, other = make_user(), make_user()
    batch = json.dumps({"events": [{"anonymous_id": "a"}]}).encode()
    statuses = [(await post(client, batch, user.headers)).status_code for _ in range(4)]
    assert statuses == [202, 202, 202, 429]
    limited = await post(client, batch, user.headers)
    assert_problem(limited, 429, "rate_limited")
    assert limited.headers["retry-after"] == "60"
    assert (await post(client, batch, other.headers)).status_code == 202
    assert await sql.fetchval("select count(*) from event_landing") == 4


async def test_elements_may_nest_up_to_the_api_limit(
    client: AsyncTestClient[Litestar], sql: asyncpg.Connection
) -> None:
    """64 levels in all, the batch's own two included; brackets inside strings are not nesting."""
    deep = b'{"a": ' * 61 + b'"[[[[{{{{' + b"[" * 70 + b'"' + b"}" * 61
    body = b'{"events": [' + deep + b"]}"
    assert (await post(client, body)).status_code == 202
    assert (await sql.fetchval("select raw from event_landing")).encode() == deep
