"""401 for missing/expired/invalid tokens, 403 for the wrong role, 404 for someone else's resource."""

from __future__ import annotations

import dataclasses
import re
import time
import uuid

import jwt
import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from api.auth import Role, decode_token, issue_token
from api.errors import Unauthorized
from api.settings import Settings
from tests.api.flows import assert_problem
from tests.conftest import JWT_SECRET, MakeUser


def forge(claims: dict[str, object], secret: str = JWT_SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, secret, algorithm=algorithm)


def valid_claims(**changes: object) -> dict[str, object]:
    claims: dict[str, object] = {"sub": str(uuid.uuid4()), "role": "supporter", "exp": int(time.time()) + 60}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "Bearer not.a.jwt",
        "Bearer " + forge(valid_claims(exp=int(time.time()) - 10)),
        "Bearer " + forge(valid_claims(), secret="another-secret-that-is-long-enough-000000"),
        "Bearer " + forge(valid_claims(exp=None)),
        "Bearer " + forge(valid_claims(sub="not-a-uuid")),
        "Bearer " + forge(valid_claims(role="admin")),
        "Bearer " + forge(valid_claims(), algorithm="HS512"),
    ],
)
async def test_bad_credentials_are_401(client: AsyncTestClient[Litestar], authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    assert_problem(await client.get("/v1/feed", headers=headers), 401, "unauthorized")


async def test_unsigned_token_is_rejected(settings: Settings) -> None:
    token = jwt.encode(valid_claims(), key="", algorithm="none")
    with pytest.raises(Unauthorized):
        decode_token(settings.auth, token)


async def test_valid_token_round_trips(settings: Settings) -> None:
    user = uuid.uuid4()
    principal = decode_token(settings.auth, issue_token(settings.auth, user, Role.ops))
    assert (principal.user_id, principal.role) == (user, Role.ops)


async def test_a_remembered_token_still_expires(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Verified tokens are remembered per process; expiry is checked on every use all the same."""
    token = forge(valid_claims(exp=int(time.time()) + 30))
    assert decode_token(settings.auth, token).role is Role.supporter
    assert decode_token(settings.auth, token).role is Role.supporter  # from the cache
    later = time.time() + 31
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(Unauthorized, match="expired"):
        decode_token(settings.auth, token)


async def test_a_token_is_remembered_per_secret(settings: Settings) -> None:
    token = forge(valid_claims())
    assert decode_token(settings.auth, token).role is Role.supporter
    other = dataclasses.replace(settings.auth, jwt_secret="another-secret-that-is-long-enough-000000")
    with pytest.raises(Unauthorized, match="invalid"):
        decode_token(other, token)


async def test_who_may_call_is_answered_before_what_was_sent(
    client: AsyncTestClient[Litestar], make_user: MakeUser
) -> None:
    """401, then 403, come before the body is read: a caller who may not use a route learns that,
    not what was wrong with the body."""
    for role in ("supporter", "ops"):
        for body in ({}, {"unknown": 1}):
            assert_problem(
                await client.post("/v1/projects", json=body, headers=make_user(role).posting()), 403, "forbidden"
            )
    project = uuid.uuid4()
    creator = make_user("creator").posting()
    assert_problem(
        await client.post(f"/v1/projects/{project}/supports/prepare", json={}, headers=creator), 403, "forbidden"
    )
    assert_problem(await client.post("/v1/projects", json={}), 401, "unauthorized")
    assert_problem(await client.post(f"/v1/projects/{project}/reports", json=[]), 401, "unauthorized")
    assert_problem(
        await client.post("/v1/events", content=b"{oops", headers={"Authorization": "Bearer not.a.jwt"}),
        401,
        "unauthorized",
    )


async def test_role_refusal_is_403(client: AsyncTestClient[Litestar], make_user: MakeUser) -> None:
    response = await client.post(
        "/v1/projects",
        json={
            "title": "t",
            "description": "",
            "currency": "USD",
            "goal_minor": 1,
            "reward_tiers": [{"title": "a", "amount_minor": 1, "reward_type": "physical"}],
        },
        headers=make_user("supporter").posting(),
    )
    assert_problem(response, 403, "forbidden")


async def test_role_is_checked_before_the_idempotency_key(
    client: AsyncTestClient[Litestar], make_user: MakeUser
) -> None:
    response = await client.post(
        "/v1/projects",
        json={
            "title": "t",
            "description": "",
            "currency": "USD",
            "goal_minor": 1,
            "reward_tiers": [{"title": "a", "amount_minor": 1, "reward_type": "physical"}],
        },
        headers=make_user("supporter").headers,
    )
    assert_problem(response, 403, "forbidden")


# Every route the app serves, walked from the app itself: a new route is signed-in only unless it is named here.
PUBLIC_ROUTES = {
    ("GET", "/healthz"),  # liveness
    ("POST", "/v1/payments/webhooks/stripe"),  # authenticated by its Stripe-Signature instead
    ("OPTIONS", "/v1/uploads"),  # tus discovery
}
OPTIONAL_ROUTES = {("POST", "/v1/events")}  # signed-out users send events too (with anonymous_id)
SCHEMA_PREFIX = "/schema"  # the OpenAPI document and its viewers


def _every_route(app: Litestar) -> list[tuple[str, str]]:
    """(method, path with each parameter filled) for every handler but Litestar's automatic OPTIONS answers."""
    found: list[tuple[str, str]] = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        path = re.sub(r"\{\w+:uuid\}", lambda _: str(uuid.uuid4()), route.path)
        path = re.sub(r"\{\w+:\w+\}", "x", path)
        for handler in route.route_handlers:
            if handler.handler_name == "options_handler":  # Litestar's automatic `Allow` answer, not ours
                continue
            found.extend((str(method), path) for method in handler.http_methods)
    return found


async def test_every_route_refuses_a_request_without_a_token_unless_named_public(
    app: Litestar, client: AsyncTestClient[Litestar]
) -> None:
    routes = _every_route(app)
    assert len(routes) > 40  # the walk sees the whole app, not a part of it
    seen_public = set()
    for method, path in routes:
        response = await client.request(method, path, content=b"{}", headers={"Content-Type": "application/json"})
        key = (method, path.rstrip("/") or "/")
        if key in PUBLIC_ROUTES or path.startswith(SCHEMA_PREFIX):
            seen_public.add(key)
            assert response.status_code != 401, (method, path)
        elif key in OPTIONAL_ROUTES:
            seen_public.add(key)
            bad = await client.request(method, path, content=b"{}", headers={"Authorization": "Bearer not.a.jwt"})
            assert bad.status_code == 401, (method, path)
        else:
            assert response.status_code == 401, (method, path, response.status_code, response.text[:200])
            assert response.headers["WWW-Authenticate"] == "Bearer"
    assert seen_public >= PUBLIC_ROUTES | OPTIONAL_ROUTES  # the named exceptions exist
