"""Request and response shapes of supports."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from api.projects.schemas import AmountMinor, Currency
from api.supports.machine import Status


class PolicySnapshot(msgspec.Struct, omit_defaults=True):
    policy_version: str
    reward_type: Literal["physical"]
    cancellation_window_hours: int
    refund_policy: str
    estimated_delivery: str | None = None


class SupportPrepare(msgspec.Struct, forbid_unknown_fields=True):
    tier_id: uuid.UUID
    amount_minor: AmountMinor
    currency: Currency


class SupportPrepared(msgspec.Struct):
    support_id: uuid.UUID
    status: Status
    project_id: uuid.UUID
    tier_id: uuid.UUID
    amount_minor: int
    currency: str
    policy_snapshot: PolicySnapshot
    expires_at: datetime


class Checkout(msgspec.Struct):
    provider: Literal["stripe"]
    payment_intent_id: str
    client_secret: str
    publishable_key: str


class SupportConfirmed(msgspec.Struct):
    support_id: uuid.UUID
    status: Status
    checkout: Checkout


class HistoryItem(msgspec.Struct, omit_defaults=True):
    from_status: Status | None
    to_status: Status
    reason: str
    source: Literal["api", "webhook", "system"]
    applied: bool
    occurred_at: datetime
    provider_event_id: str | None = None


class SupportRead(msgspec.Struct, omit_defaults=True):
    support_id: uuid.UUID
    status: Status
    project_id: uuid.UUID
    tier_id: uuid.UUID
    amount_minor: int
    currency: str
    policy_snapshot: PolicySnapshot
    history: list[HistoryItem]
    payment_intent_id: str | None = None
    succeeded_at: datetime | None = None
    cancellable_until: datetime | None = None
    dispute_id: uuid.UUID | None = None
    poll_after_ms: Annotated[int, msgspec.Meta(ge=0)] | None = None
