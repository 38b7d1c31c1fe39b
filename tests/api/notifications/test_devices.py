"""Devices registered for push over HTTP: register (idempotent), list (cursor), unregister; the contact's token."""

from __future__ import annotations

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.api.flows import assert_problem
from tests.conftest import MakeUser

PHONE, TABLET = "0f" * 32, "ab" * 100  # 64 hex digits (today's tokens) and 200 (the most accepted)


async def test_register_refresh_list_and_unregister_a_device(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    user = make_user("supporter")
    body = {"environment": "development", "bundle_id": "dev.patronage.app", "app_version": "1.4.0 (212)"}
    first = await client.put(f"/v1/me/devices/{PHONE.upper()}", json=body, headers=user.headers)
    assert first.status_code == 200, first.text
    device = first.json()
    assert device["token"] == PHONE  # stored as pushes address it: lower-case hex
    assert (device["environment"], device["bundle_id"], device["app_version"]) == (
        "development",
        "dev.patronage.app",
        "1.4.0 (212)",
    )
    again = (await client.put(f"/v1/me/devices/{PHONE}", json=body, headers=user.headers)).json()
    assert again["created_at"] == device["created_at"]  # the same registration, refreshed
    assert again["updated_at"] >= device["updated_at"]
    # A PUT replaces what the app said; `{}` takes the server's default environment.
    bare = (await client.put(f"/v1/me/devices/{PHONE}", json={}, headers=user.headers)).json()
    assert (bare["environment"], bare["bundle_id"], bare["app_version"]) == ("production", None, None)
    assert (await client.put(f"/v1/me/devices/{TABLET}", json={}, headers=user.headers)).status_code == 200

    listed = (await client.get("/v1/me/devices", headers=user.headers)).json()
    assert [d["token"] for d in listed["items"]] == [TABLET, PHONE]  # newest registration first
    assert listed["next_cursor"] is None
    assert await sql.fetchval("select count(*) from push_devices where user_id = $1", user.user_id) == 2

    deleted = await client.delete(f"/v1/me/devices/{PHONE}", headers=user.headers)
    assert deleted.status_code == 204
    assert [d["token"] for d in (await client.get("/v1/me/devices", headers=user.headers)).json()["items"]] == [TABLET]
    assert_problem(await client.delete(f"/v1/me/devices/{PHONE}", headers=user.headers), 404, "device_not_found")


@pytest.mark.parametrize(
    "token",
    [
        "0f" * 31,  # 62 digits: too short
        "0f" * 101,  # 202: too long
        "0f" * 32 + "a",  # odd length
        "0g" * 32,  # not hex
        "0f" * 16 + "-" + "0f" * 16,
    ],
)
async def test_a_token_that_is_not_an_apns_token_is_422_invalid_device_token(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection, token: str
) -> None:
    user = make_user("supporter")
    problem = assert_problem(
        await client.put(f"/v1/me/devices/{token}", json={}, headers=user.headers), 422, "invalid_device_token"
    )
    assert problem["errors"] == [{"path": "$.token", "message": "not an APNs device token"}]
    assert_problem(await client.delete(f"/v1/me/devices/{token}", headers=user.headers), 422, "invalid_device_token")
    assert await sql.fetchval("select count(*) from push_devices") == 0


async def test_bad_bodies_are_422_validation_failed(client: AsyncTestClient[Litestar], make_user: MakeUser) -> None:
    user = make_user("supporter")
    unknown = assert_problem(
        await client.put(f"/v1/me/devices/{PHONE}", json={"environment": "staging"}, headers=user.headers),
        422,
        "validation_failed",
    )
    assert [e["path"] for e in unknown["errors"]] == ["$.environment"]  # type: ignore[attr-defined]
    bodies: list[object] = [{"user_id": "someone"}, {"bundle_id": "not a bundle id"}, {"app_version": ""}, []]
    for body in bodies:
        assert_problem(
            await client.put(f"/v1/me/devices/{PHONE}", json=body, headers=user.headers), 422, "validation_failed"
        )
    assert (await client.get("/v1/me/devices", headers=user.headers)).json()["items"] == []


async def test_a_token_registered_by_another_user_moves_to_the_new_one(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    """A token names an app install: whoever signs in there last gets its pushes (Apple's guidance)."""
    before, after = make_user("supporter"), make_user("creator")
    assert (await client.put(f"/v1/me/devices/{PHONE}", json={}, headers=before.headers)).status_code == 200
    moved = await client.put(f"/v1/me/devices/{PHONE}", json={"environment": "development"}, headers=after.headers)
    assert moved.status_code == 200
    assert moved.json()["environment"] == "development"
    assert (await client.get("/v1/me/devices", headers=before.headers)).json()["items"] == []
    assert [d["token"] for d in (await client.get("/v1/me/devices", headers=after.headers)).json()["items"]] == [PHONE]
    # The previous user can no longer remove it, and learns nothing about who has it now.
    assert_problem(await client.delete(f"/v1/me/devices/{PHONE}", headers=before.headers), 404, "device_not_found")
    assert await sql.fetchval("select user_id from push_devices where device_token = $1", PHONE) == after.user_id


async def test_the_device_routes_need_a_token(client: AsyncTestClient[Litestar]) -> None:
    assert_problem(await client.put(f"/v1/me/devices/{PHONE}", json={}), 401, "unauthorized")
    assert_problem(await client.delete(f"/v1/me/devices/{PHONE}"), 401, "unauthorized")
    assert_problem(await client.get("/v1/me/devices"), 401, "unauthorized")


async def test_devices_are_listed_in_pages(client: AsyncTestClient[Litestar], make_user: MakeUser) -> None:
    user, other = make_user("supporter"), make_user("supporter")
    tokens = [f"{i:02x}" * 32 for i in range(5)]
    for token in tokens:
        assert (await client.put(f"/v1/me/devices/{token}", json={}, headers=user.headers)).status_code == 200
    await client.put(f"/v1/me/devices/{'ee' * 32}", json={}, headers=other.headers)
    seen, cursor, pages = [], "", 0
    while True:
        page = (await client.get(f"/v1/me/devices?limit=2&cursor={cursor}", headers=user.headers)).json()
        seen += [d["token"] for d in page["items"]]
        pages += 1
        if not (cursor := page["next_cursor"]):
            break
    assert (seen, pages) == (tokens[::-1], 3)
    assert_problem(await client.get("/v1/me/devices?cursor=nope", headers=user.headers), 422, "validation_failed")
    assert_problem(await client.get("/v1/me/devices?limit=201", headers=user.headers), 422, "validation_failed")


async def test_the_contact_push_token_registers_that_device(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    """Older app builds register their one token with `PUT /v1/me/contact`: it is a device like the others."""
    user = make_user("supporter")

    async def devices() -> list[tuple[str, str]]:
        rows = await sql.fetch("select device_token, environment from push_devices where user_id = $1", user.user_id)
        return sorted((r["device_token"], r["environment"]) for r in rows)

    contact = await client.put("/v1/me/contact", json={"push_token": PHONE.upper()}, headers=user.headers)
    assert contact.json()["push_token"] == PHONE.upper()  # the contact echoes what it was given
    assert await devices() == [(PHONE, "production")]
    # A device the app registered itself keeps what it said (its environment) when the contact names it again.
    await client.put(f"/v1/me/devices/{TABLET}", json={"environment": "development"}, headers=user.headers)
    await client.put("/v1/me/contact", json={"push_token": TABLET}, headers=user.headers)
    assert await devices() == [(TABLET, "development")]  # and the token it replaced is unregistered
    await client.put("/v1/me/contact", json={"email": "fan@example.org"}, headers=user.headers)
    assert await devices() == []  # cleared: no push there any more
    legacy = await client.put("/v1/me/contact", json={"push_token": "a1b2"}, headers=user.headers)
    assert legacy.status_code == 200  # any text is still accepted as before, and reaches no device
    assert await devices() == []
