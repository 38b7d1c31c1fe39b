"""The Stripe webhook route: authenticated by its signature only."""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Controller, Request, post
from litestar.datastructures import State
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, Parameter, RequestBody, Schema

from api.payments import services
from api.payments.schemas import WebhookReceipt


@dataclass
class StripeWebhookOperation(Operation):
    """The handler verifies the raw body's signature, so the body and the header are documented here."""

    def __post_init__(self) -> None:
        event = Schema(
            type=OpenAPIType.OBJECT,
            required=["id", "type", "created", "data"],
            properties={
                "id": Schema(type=OpenAPIType.STRING),
                "type": Schema(type=OpenAPIType.STRING),
                "created": Schema(type=OpenAPIType.INTEGER),
                "data": Schema(
                    type=OpenAPIType.OBJECT,
                    required=["object"],
                    properties={"object": Schema(type=OpenAPIType.OBJECT)},
                ),
            },
            description="A Stripe Event object",
        )
        self.request_body = RequestBody(content={"application/json": OpenAPIMediaType(schema=event)}, required=True)
        self.parameters = [
            Parameter(
                name="Stripe-Signature",
                param_in="header",
                required=True,
                schema=Schema(type=OpenAPIType.STRING),
                description="Stripe's HMAC-SHA256 signature of the body (`t=...,v1=...`); a missing or bad one is 400 "
                "`invalid_signature`",
            )
        ]


class StripeWebhookController(Controller):
    path = "/v1/payments/webhooks"
    tags = ["payments"]
    security = [{}]  # no JWT: the Stripe-Signature header authenticates the body

    @post(
        "/stripe",
        status_code=200,
        summary="Stripe webhook (the only source of payment finality)",
        operation_class=StripeWebhookOperation,
    )
    async def stripe_webhook(self, request: Request, state: State) -> WebhookReceipt:  # type: ignore[type-arg]
        payload = await request.body()
        return await services.receive(
            state.db,
            state.payments,
            payload,
            request.headers.get("stripe-signature"),
            state.settings,
        )
