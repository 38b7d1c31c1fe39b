"""The Stripe webhook route: authenticated by its signature only."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from litestar import Controller, Request, post
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, Parameter, RequestBody, Schema

from api.db.engine import Database
from api.db.failures import is_connection_failure
from api.payments import services
from api.payments.schemas import WebhookReceipt
from api.state import AppState

log = logging.getLogger(__name__)


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
        operation_id="receiveStripeWebhook",
        description=(
            "Stripe's events (payment intents, charges, refunds, disputes, payouts). The body is verified against "
            "`Stripe-Signature`, stored and handled once in one transaction; a redelivered event is answered "
            "`duplicate: true`."
        ),
    )
    async def stripe_webhook(
        self,
        request: Request,  # type: ignore[type-arg]
        state: AppState,
    ) -> WebhookReceipt:
        received = services.verify(state.payments, await request.body(), request.headers.get("stripe-signature"))
        try:
            async with state.db.transaction() as session:
                return await services.handle(
                    session, received, disputes=state.settings.disputes, payout_country=state.settings.payout_country
                )
        except Exception:
            await _keep_unhandled(state.db, received)
            raise


async def _keep_unhandled(db: Database, received: services.Received) -> None:
    """The event is kept even when its handling failed (a failure to keep it is logged, and the
    handler's error is the one answered)."""
    try:
        async with db.transaction() as session:
            await services.keep_unhandled(session, received)
    except Exception as exc:
        if not is_connection_failure(exc):
            log.exception("stripe event %s could not be kept after its handling failed", received.event.id)
        else:  # an outage: Stripe redelivers the event after the 503, no traceback needed
            log.warning("stripe event %s not kept: the database is unavailable", received.event.id)
