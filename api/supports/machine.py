"""The support status machine, as a fold over what is known about a support.

Webhooks may arrive in any order and more than once, so the status is never "the last event's
target": it is computed from the facts recorded so far (confirmed, captured, failed, refunded,
dispute state, cancellation requested). Recording a fact is idempotent and commutative, hence the
final status does not depend on order or repetition.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

Status = Literal[
    "prepared",
    "pending_payment",
    "succeeded",
    "failed",
    "expired",
    "refund_pending",
    "refunded",
    "disputed",
    "charged_back",
]
STATUSES: tuple[Status, ...] = get_args(Status)
DisputeState = Literal["none", "open", "won", "lost"]

# Client-requested transitions (api source); anything else requested by a client is 409.
CONFIRMABLE: frozenset[Status] = frozenset({"prepared", "pending_payment", "failed"})
CANCELLABLE: frozenset[Status] = frozenset({"succeeded"})


@dataclass(frozen=True)
class Facts:
    amount_minor: int
    confirmed_at: datetime | None = None
    captured: bool = False
    failed_at: datetime | None = None
    cancel_requested: bool = False
    refunded_minor: int = 0
    dispute: DisputeState = "none"
    expired: bool = False


def canonical_status(facts: Facts) -> Status:
    """Precedence, strongest first: lost dispute, open dispute, full refund, cancel, capture, failure."""
    if facts.dispute == "lost":
        return "charged_back"
    if facts.dispute == "open":
        return "disputed"
    if facts.refunded_minor >= facts.amount_minor:
        return "refunded"
    if facts.captured:
        return "refund_pending" if facts.cancel_requested else "succeeded"
    if facts.failed_at is not None and (facts.confirmed_at is None or facts.failed_at >= facts.confirmed_at):
        return "failed"  # both on our clock (confirm time, webhook arrival): a retry after the failure wins
    if facts.confirmed_at is not None:
        return "pending_payment"
    if facts.expired:
        return "expired"
    return "prepared"
