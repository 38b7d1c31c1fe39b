"""Receiving a Stripe webhook: verify, then store it and handle it in one unit of work (the route's).

The inbox row, the handler's effects and the `handled_at` stamp commit together, so an event is
handled at most once. When handling fails the transaction rolls back and the event is stored on its
own, unhandled (`handled_at` null), for Stripe's redelivery or a replay.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import FieldError, MalformedBody, ValidationFailed
from api.payments import repositories as repo
from api.payments.gateway import PaymentGateway
from api.payments.schemas import WebhookReceipt
from api.payments.webhooks import HANDLERS, Result, Webhook
from api.settings import DisputeSettings

log = logging.getLogger(__name__)


class StripeEvent(msgspec.Struct):
    id: str
    type: str
    created: int
    data: dict[str, Any]


def parse_event(payload: bytes) -> StripeEvent:
    try:
        document = msgspec.json.decode(payload)
    except msgspec.DecodeError:
        raise MalformedBody("The webhook body is not valid JSON.") from None
    try:
        event = msgspec.convert(document, StripeEvent)
    except msgspec.ValidationError as exc:
        raise ValidationFailed(
            "The webhook is not a Stripe event.", errors=[FieldError(path="$", message=str(exc))]
        ) from None
    if not isinstance(event.data.get("object"), dict) or not event.id:
        raise ValidationFailed("The webhook has no data.object.", errors=[FieldError(path="$.data", message="missing")])
    return event


@dataclass(frozen=True)
class Received:
    """A verified webhook: the event, and its inbox row as stored."""

    event: StripeEvent
    inbox: repo.InboxEvent


def verify(gateway: PaymentGateway, payload: bytes, signature: str | None) -> Received:
    """The signature checked (400 `invalid_signature`) and the body read as a Stripe event (422)."""
    gateway.verify_webhook(payload, signature)
    event = parse_event(payload)
    obj: dict[str, Any] = event.data["object"]
    inbox = repo.InboxEvent(
        event_id=event.id,
        event_type=event.type,
        object_id=obj.get("id") if isinstance(obj.get("id"), str) else None,
        created=datetime.fromtimestamp(event.created, tz=UTC),
        raw=payload.decode("utf-8"),
    )
    return Received(event=event, inbox=inbox)


async def handle(
    session: AsyncSession, received: Received, *, disputes: DisputeSettings, payout_country: str
) -> WebhookReceipt:
    """Store the event and handle it in this unit of work; a duplicate of a handled event changes nothing."""
    event, inbox = received.event, received.inbox
    if not await repo.store_to_handle(session, inbox):
        return WebhookReceipt(received=True, duplicate=True)
    now = datetime.now(UTC)
    handler = HANDLERS.get(event.type)
    result = (
        Result("ignored")
        if handler is None
        else await handler(
            Webhook(
                session=session,
                event_id=event.id,
                event_type=event.type,
                obj=event.data["object"],
                created=inbox.created,
                now=now,
                disputes=disputes,
                payout_country=payout_country,
            )
        )
    )
    await repo.mark_handled(session, event.id, now, result.outcome, result.detail)
    if result.outcome in ("unmatched", "flagged"):
        log.warning("stripe event %s (%s) %s: %s", event.id, event.type, result.outcome, result.detail)
    return WebhookReceipt(received=True, duplicate=False, outcome=result.outcome)


async def keep_unhandled(session: AsyncSession, received: Received) -> None:
    """After a failed handling: the event stored on its own, unhandled, for a redelivery or a replay."""
    await repo.store(session, received.inbox)
