"""Response shapes of payouts (read-only: payouts are created by the schedule, never by a client)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

import msgspec

PayoutStatus = Literal["scheduled", "released", "paid", "failed"]
ReservePolicy = Literal["disabled"]


class PayoutRead(msgspec.Struct):
    payout_id: uuid.UUID
    status: PayoutStatus
    currency: str
    amount_minor: int
    execution_date: date
    settlement_target_date: date
    reserve_minor: int
    reserve_policy: ReservePolicy
    support_count: int


class PayoutPage(msgspec.Struct):
    items: list[PayoutRead]
    next_cursor: str | None
