"""Receiving a Stripe webhook: verify, then store it and handle it in one transaction.

The inbox row, the handler's effects and the `handled_at` stamp commit together, so an event is
handled at most once. When handling fails the transaction rolls back and the event is stored on its
own, unhandled (`handled_at` null), for Stripe's redelivery or a replay.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import msgspec

from api.db.engine import Database
from api.errors import FieldError, MalformedBody, ValidationFailed
from api.payments import repositories as repo
from api.payments.gateway import PaymentGateway
from api.payments.schemas import WebhookReceipt
from api.payments.webhooks import HANDLERS, Result, Webhook
from api.settings import Settings

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


async def _keep_unhandled(db: Database, stored: repo.InboxEvent) -> None:
    """After a failed handling, the event is still kept (a failure to keep it is logged, and the
    handler's error is the one answered)."""
    try:
        async with db.read() as connection:
            await repo.store(connection, stored)
    except Exception:
        log.exception("stripe event %s could not be kept after its handling failed", stored.event_id)


async def receive(
    db: Database,
    gateway: PaymentGateway,
    payload: bytes,
    signature: str | None,
    settings: Settings,
) -> WebhookReceipt:
    gateway.verify_webhook(payload, signature)
    event = parse_event(payload)
    created = datetime.fromtimestamp(event.created, tz=UTC)
    obj: dict[str, Any] = event.data["object"]
    stored = repo.InboxEvent(
        event_id=event.id,
        event_type=event.type,
        object_id=obj.get("id") if isinstance(obj.get("id"), str) else None,
        created=created,
        raw=payload.decode("utf-8"),
    )
    try:
        async with db.transaction() as session:
            if not await repo.store_to_handle(session, stored):
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
                        obj=obj,
                        created=created,
                        now=now,
                        disputes=settings.disputes,
                        payout_country=settings.payout_country,
                    )
                )
            )
            await repo.mark_handled(session, event.id, now, result.outcome, result.detail)
    except Exception:
        await _keep_unhandled(db, stored)
        raise
    if result.outcome in ("unmatched", "flagged"):
        log.warning("stripe event %s (%s) %s: %s", event.id, event.type, result.outcome, result.detail)
    return WebhookReceipt(received=True, duplicate=False, outcome=result.outcome)
