"""Prepare and confirm: the frozen policy, every refusal, PaymentIntent creation and reuse."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
import stripe
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.api.flows import assert_problem
from tests.api.projects.flows import create_project
from tests.api.supports.flows import back_project, confirm
from tests.conftest import MakeUser


async def test_prepare_freezes_the_policy_and_lands_a_server_event(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    _, _, support = await back_project(client, make_user, amount_minor=3_000)
    assert support["status"] == "prepared"
    assert support["amount_minor"] == 3_000
    assert support["policy_snapshot"]["reward_type"] == "physical"
    assert support["policy_snapshot"]["cancellation_window_hours"] == 48
    assert support["expires_at"] > support["policy_snapshot"]["policy_version"][:4]

    stored = await sql.fetchval(
        "select policy_snapshot::text from supports where support_id = $1", uuid.UUID(support["support_id"])
    )
    assert '"cancellation_window_hours": 48' in stored
    raws = await sql.fetch("select raw from event_landing where source = 'server'")
    assert any('"event_name":"support_prepared"' in r["raw"] and support["support_id"] in r["raw"] for r in raws)
    history = await sql.fetch("select from_status, to_status, source from support_status_history")
    assert [(h["from_status"], h["to_status"], h["source"]) for h in history] == [(None, "prepared", "api")]


@pytest.mark.parametrize(
    ("tier_index", "body_change", "status", "code"),
    [
        (1, {}, 422, "reward_type_not_supported"),
        (0, {"amount_minor": 2_499}, 422, "amount_below_tier_minimum"),
        (0, {"currency": "USD"}, 422, "currency_mismatch"),
        (0, {"tier_id": str(uuid.uuid4())}, 422, "tier_not_found"),
    ],
)
async def test_prepare_refusals_write_nothing(
    client: AsyncTestClient[Litestar],
    make_user: MakeUser,
    sql: asyncpg.Connection,
    tier_index: int,
    body_change: dict[str, object],
    status: int,
    code: str,
) -> None:
    project = await create_project(client, make_user("creator"))
    tier = project["reward_tiers"][tier_index]
    body = {"tier_id": tier["tier_id"], "amount_minor": tier["amount_minor"], "currency": "EUR", **body_change}
    response = await client.post(
        f"/v1/projects/{project['project_id']}/supports/prepare", json=body, headers=make_user().posting()
    )
    assert_problem(response, status, code)
    assert await sql.fetchval("select count(*) from supports") == 0
    assert await sql.fetchval("select count(*) from event_landing") == 0


async def test_prepare_on_unknown_or_paused_projects(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    body = {"tier_id": str(uuid.uuid4()), "amount_minor": 100, "currency": "EUR"}
    response = await client.post(
        f"/v1/projects/{uuid.uuid4()}/supports/prepare", json=body, headers=make_user().posting()
    )
    assert_problem(response, 404, "project_not_found")

    project = await create_project(client, make_user("creator"))
    await sql.execute("update projects set status = 'paused' where project_id = $1", uuid.UUID(project["project_id"]))
    body["tier_id"] = project["reward_tiers"][0]["tier_id"]
    body["amount_minor"] = 2_500
    response = await client.post(
        f"/v1/projects/{project['project_id']}/supports/prepare", json=body, headers=make_user().posting()
    )
    assert_problem(response, 409, "project_not_accepting_supports")


async def test_only_supporters_prepare(client: AsyncTestClient[Litestar], make_user: MakeUser) -> None:
    project = await create_project(client, make_user("creator"))
    body = {"tier_id": project["reward_tiers"][0]["tier_id"], "amount_minor": 2_500, "currency": "EUR"}
    response = await client.post(
        f"/v1/projects/{project['project_id']}/supports/prepare", json=body, headers=make_user("creator").posting()
    )
    assert_problem(response, 403, "forbidden")


async def test_confirm_creates_a_payment_intent_once_and_never_marks_success(
    client: AsyncTestClient[Litestar], make_user: MakeUser, stripe_client: stripe.StripeClient
) -> None:
    _, supporter, support = await back_project(client, make_user)
    first = await confirm(client, supporter, support["support_id"])
    assert first["status"] == "pending_payment"
    checkout = first["checkout"]
    assert checkout["provider"] == "stripe"
    assert checkout["publishable_key"] == "pk_test_patronage"
    assert checkout["client_secret"].startswith(checkout["payment_intent_id"])

    intent = stripe_client.v1.payment_intents.retrieve(checkout["payment_intent_id"])
    assert intent.metadata["support_id"] == support["support_id"]
    assert (intent.amount, intent.currency) == (2_500, "eur")

    again = await confirm(client, supporter, support["support_id"])
    assert again["checkout"]["payment_intent_id"] == checkout["payment_intent_id"]
    read = (await client.get(f"/v1/supports/{support['support_id']}", headers=supporter.headers)).json()
    assert read["status"] == "pending_payment"
    assert read["poll_after_ms"] > 0
    assert "succeeded_at" not in read


async def test_confirm_and_read_are_the_owners(client: AsyncTestClient[Litestar], make_user: MakeUser) -> None:
    creator, _, support = await back_project(client, make_user)
    url = f"/v1/supports/{support['support_id']}"
    assert_problem(await client.post(f"{url}/confirm", headers=make_user().posting()), 404, "not_found")
    assert_problem(await client.get(url, headers=make_user().headers), 404, "not_found")
    assert_problem(await client.get(url, headers=make_user("creator").headers), 404, "not_found")
    assert (await client.get(url, headers=creator.headers)).status_code == 200
    assert (await client.get(url, headers=make_user("ops").headers)).status_code == 200
    assert_problem(await client.post(f"{url}/confirm", headers=creator.posting()), 403, "forbidden")


async def test_unconfirmed_supports_expire_after_24_hours(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection
) -> None:
    _, supporter, support = await back_project(client, make_user)
    await sql.execute(
        "update supports set expires_at = now() - interval '1 minute' where support_id = $1",
        uuid.UUID(support["support_id"]),
    )
    read = (await client.get(f"/v1/supports/{support['support_id']}", headers=supporter.headers)).json()
    assert read["status"] == "expired"
    assert read["history"][-1]["source"] == "system"
    response = await client.post(f"/v1/supports/{support['support_id']}/confirm", headers=supporter.posting())
    assert_problem(response, 409, "invalid_transition")


async def test_status_read_supports_etag(client: AsyncTestClient[Litestar], make_user: MakeUser) -> None:
    _, supporter, support = await back_project(client, make_user)
    url = f"/v1/supports/{support['support_id']}"
    first = await client.get(url, headers=supporter.headers)
    tag = first.headers["etag"]
    unchanged = await client.get(url, headers={**supporter.headers, "If-None-Match": tag})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    for header in (f"W/{tag}", f'"other", {tag}', "*"):  # RFC 9110: weak comparison, lists, any
        assert (await client.get(url, headers={**supporter.headers, "If-None-Match": header})).status_code == 304
    assert (await client.get(url, headers={**supporter.headers, "If-None-Match": '"other"'})).status_code == 200
    await confirm(client, supporter, support["support_id"])
    changed = await client.get(url, headers={**supporter.headers, "If-None-Match": tag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != tag
