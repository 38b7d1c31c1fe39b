"""Request and response shapes of moderation: reports, the project's moderation document, decisions."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

ReportReason = Literal["spam", "fraud", "prohibited_item", "ip_infringement", "harassment", "other"]
ReviewStatus = Literal["open", "upheld", "rejected"]
ReviewOutcome = Literal["upheld", "rejected"]
ReviewTrigger = Literal["weight", "fraud_weight"]
Weight = Annotated[float, msgspec.Meta(ge=0.1, le=1.0, description="Reporter trust at report time.")]


class ReportCreate(msgspec.Struct, forbid_unknown_fields=True):
    reason: ReportReason
    details: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class ReportCreated(msgspec.Struct):
    report_id: uuid.UUID
    weight: Weight
    review_triggered: bool


class ReportRead(msgspec.Struct):
    report_id: uuid.UUID
    reporter_id: uuid.UUID
    reason: ReportReason
    details: str | None
    weight: Weight
    report_date: date
    created_at: datetime
    review_id: uuid.UUID | None


class TriggerInputs(msgspec.Struct):
    """What the review was opened on, stored at that moment (audit)."""

    weight_sum: float
    fraud_weight_sum: float
    weight_threshold: float
    fraud_weight_threshold: float
    window_days: int
    window_start: datetime
    report_ids: list[uuid.UUID]


class ReviewRead(msgspec.Struct):
    review_id: uuid.UUID
    project_id: uuid.UUID
    status: ReviewStatus
    trigger: ReviewTrigger
    trigger_inputs: TriggerInputs
    created_at: datetime
    decided_at: datetime | None
    decided_by: uuid.UUID | None
    outcome: ReviewOutcome | None


class ProjectModeration(msgspec.Struct):
    project_id: uuid.UUID
    reports: list[ReportRead]
    open_review: ReviewRead | None
    past_reviews: list[ReviewRead]


class ReviewDecision(msgspec.Struct, forbid_unknown_fields=True):
    outcome: ReviewOutcome
