"""Request and response shapes of disputes: the SLA document, the ops list, recovery attempts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

DisputeStatus = Literal["open", "won", "lost"]
SlaClock = Literal["ack", "triage", "resolution"]
RecoveryMethod = Literal["evidence_submission", "creator_clawback", "supporter_contact"]
RecoveredMinor = Annotated[int, msgspec.Meta(ge=0, le=99_999_999)]


class BreachRead(msgspec.Struct):
    clock: SlaClock
    due_at: datetime
    detected_at: datetime


class SlaRead(msgspec.Struct):
    ack_due_at: datetime
    acked_at: datetime | None
    triage_due_at: datetime
    triaged_at: datetime | None
    resolution_due_at: datetime
    resolved_at: datetime | None
    breaches: list[BreachRead]


class RecoveryAttemptCreate(msgspec.Struct, forbid_unknown_fields=True):
    method: RecoveryMethod
    amount_minor: RecoveredMinor | None = None
    note: Annotated[str, msgspec.Meta(max_length=2_000)] | None = None


class RecoveryAttemptRead(msgspec.Struct):
    attempt_id: uuid.UUID
    dispute_id: uuid.UUID
    method: RecoveryMethod
    amount_minor: int | None
    note: str | None
    created_by: uuid.UUID
    created_at: datetime


class DisputeRead(msgspec.Struct):
    dispute_id: uuid.UUID
    support_id: uuid.UUID
    project_id: uuid.UUID
    provider_dispute_id: str
    status: DisputeStatus
    reason: str | None
    amount_minor: int
    currency: str
    evidence_due_by: datetime | None
    sla: SlaRead
    escalated: bool
    escalation_reason: str | None
    recovery_attempts: list[RecoveryAttemptRead]


class DisputePage(msgspec.Struct):
    items: list[DisputeRead]
    next_cursor: str | None
