"""Helpers for support flows: a project to back, prepare/confirm, paying on localstripe, signed Stripe webhooks,
a succeeded support."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import stripe
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests import stripe_events as se
from tests.api.projects.flows import create_project
from tests.conftest import MakeUser, User

Backing = dict[str, Any]
POLL_SECONDS = 15
WEBHOOK = "/v1/payments/webhooks/stripe"


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


async def deliver(client: AsyncTestClient[Litestar], payload: bytes) -> dict[str, Any]:
    response = await client.post(
        WEBHOOK, content=payload, headers={"Stripe-Signature": se.sign(payload), "Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def succeeded_support(
    client: AsyncTestClient[Litestar],
    make_user: MakeUser,
    amount: int = 2_500,
    *,
    paid_on: stripe.StripeClient | None = None,
) -> tuple[User, dict[str, Any], str, str]:
    """A succeeded support; returns (supporter, support, payment intent, charge).

    With `paid_on`, the PaymentIntent is really paid on localstripe and its own webhook finalizes it
    (needed when Stripe must know the charge, e.g. to refund); otherwise a signed event does.
    """
    _, supporter, support = await back_project(client, make_user, amount_minor=amount)
    pi = (await confirm(client, supporter, support["support_id"]))["checkout"]["payment_intent_id"]
    if paid_on is not None:
        paid = pay_with_card(paid_on, pi)

        async def read() -> dict[str, Any]:
            result: dict[str, Any] = (
                await client.get(f"/v1/supports/{support['support_id']}", headers=supporter.headers)
            ).json()
            return result

        await poll_until(read, "succeeded")
        return supporter, support, pi, paid.latest_charge.id
    charge = "ch_" + uuid.uuid4().hex[:14]
    receipt = await deliver(
        client,
        se.event(
            "payment_intent.succeeded", se.payment_intent(pi, amount, "EUR", support["support_id"], charge=charge)
        ),
    )
    assert receipt["outcome"] == "applied"
    return supporter, support, pi, charge
