"""Helpers for support flows: a project to back, prepare/confirm, paying on localstripe."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import stripe
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.api.projects.test_projects import create_project
from tests.conftest import MakeUser, User

Backing = dict[str, Any]
POLL_SECONDS = 15


async def back_project(
    client: AsyncTestClient[Litestar], make_user: MakeUser, *, amount_minor: int = 2_500, currency: str = "EUR"
) -> tuple[User, User, Backing]:
    """A creator's live project and a supporter's prepared support on its physical tier."""
    creator = make_user("creator")
    project = await create_project(client, creator, currency=currency)
    supporter = make_user("supporter")
    tier = project["reward_tiers"][0]
    response = await client.post(
        f"/v1/projects/{project['project_id']}/supports/prepare",
        json={"tier_id": tier["tier_id"], "amount_minor": amount_minor, "currency": currency},
        headers=supporter.posting(),
    )
    assert response.status_code == 201, response.text
    return creator, supporter, response.json()


async def confirm(client: AsyncTestClient[Litestar], supporter: User, support_id: str) -> dict[str, Any]:
    response = await client.post(f"/v1/supports/{support_id}/confirm", headers=supporter.posting())
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def pay_with_card(
    stripe_client: stripe.StripeClient, payment_intent_id: str, payment_method: str = "pm_card_visa"
) -> Any:
    """The client-side confirmation the iOS SDK performs with the client secret."""
    stripe_client.v1.payment_intents.update(payment_intent_id, params={"payment_method": payment_method})
    try:
        return stripe_client.v1.payment_intents.confirm(payment_intent_id)
    except stripe.CardError as exc:
        return exc


async def poll_until(read: Callable[[], Awaitable[dict[str, Any]]], status: str) -> dict[str, Any]:
    """Poll the canonical status as the app does after checkout, until `status` or timeout."""
    deadline = asyncio.get_running_loop().time() + POLL_SECONDS
    while True:
        body = await read()
        if body["status"] == status:
            return body
        assert asyncio.get_running_loop().time() < deadline, f"still {body['status']}, wanted {status}"
        await asyncio.sleep(0.2)


def new_ids() -> dict[str, str]:
    token = uuid.uuid4().hex[:14]
    return {"pi": f"pi_{token}", "ch": f"ch_{token}", "dp": f"dp_{token}", "re": f"re_{token}"}
