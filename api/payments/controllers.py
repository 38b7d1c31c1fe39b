"""The Stripe webhook route: authenticated by its signature only."""

from __future__ import annotations

from litestar import Controller, Request, post
from litestar.datastructures import State

from api.payments import services
from api.payments.schemas import WebhookReceipt


class StripeWebhookController(Controller):
    path = "/v1/payments/webhooks"
    tags = ["payments"]
    security = [{}]  # no JWT: the Stripe-Signature header authenticates the body

    @post("/stripe", status_code=200, summary="Stripe webhook (the only source of payment finality)")
    async def stripe_webhook(self, request: Request, state: State) -> WebhookReceipt:  # type: ignore[type-arg]
        payload = await request.body()
        return await services.receive(
            state.db,
            state.payments,
            payload,
            request.headers.get("stripe-signature"),
            state.settings,
        )
