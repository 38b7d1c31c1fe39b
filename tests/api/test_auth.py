"""401 for missing/expired/invalid tokens, 403 for the wrong role, 404 for someone else's resource."""

from __future__ import annotations

import dataclasses
import time
import uuid

import jwt
import pytest
from litestar import Litestar
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
