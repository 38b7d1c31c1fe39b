"""Business rules of moderation: weighted reports, the auto-review trigger, decisions and reporter trust.

Trust rule: a reporter starts at 0.5; each decided review moves every distinct reporter whose report it
judged by +0.1 (upheld) or -0.1 (rejected), clamped to [0.1, 1.0]. A report's weight is its reporter's
trust when it was filed, stored on the report and never recomputed.

Trigger rule: over the trailing 7 days, the reports no review has judged yet open a review case when
their weights sum to 3.0, or their `fraud` weights to 1.5. The new case judges those reports, and any
report filed while it is open joins it. Reports and decisions on one project are serialized by a
transaction-scoped advisory lock, so every sum sees every committed report (no threshold crossing is
missed by two reports racing); a partial unique index keeps a second open case out regardless.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import Principal
from api.db.models import ModerationReview, ProjectReport
from api.errors import Conflict, DomainError, NotFound
from api.moderation import repositories as repo
from api.moderation.schemas import (
    ProjectModeration,
    ReportCreate,
    ReportCreated,
    ReportRead,
    ReviewDecision,
    ReviewRead,
    TriggerInputs,
)
from api.notifications import services as notifications
from api.projects import repositories as projects
from api.projects.services import ProjectNotFound, visible_project

WINDOW_DAYS = 7
WEIGHT_THRESHOLD = Decimal("3.0")
FRAUD_WEIGHT_THRESHOLD = Decimal("1.5")
DEFAULT_TRUST = Decimal("0.5")
TRUST_STEP = Decimal("0.1")
MIN_TRUST, MAX_TRUST = Decimal("0.1"), Decimal("1.0")


class SelfReport(DomainError):
    status, code = 422, "self_report"


class DuplicateReport(Conflict):
    code = "duplicate_report"


class ReviewNotFound(NotFound):
    """api.md lists no code of its own for this 404: the general `not_found`."""


class ReviewAlreadyDecided(Conflict):
    code = "review_already_decided"


async def report(
    session: AsyncSession, reporter: Principal, project_id: uuid.UUID, data: ReportCreate, now: datetime
) -> ReportCreated:
    project = await visible_project(session, reporter, project_id)
    if project.creator_id == reporter.user_id:
        raise SelfReport("You cannot report your own project.")
    await repo.lock_project(session, project_id)
    trust = await repo.trust_score(session, reporter.user_id)
    weight = DEFAULT_TRUST if trust is None else trust  # no row yet: a new account
    report_id = uuid.uuid4()
    inserted = await repo.insert_report(
        session,
        {
            "report_id": report_id,
            "project_id": project_id,
            "reporter_id": reporter.user_id,
            "reason": data.reason,
            "details": data.details,
            "weight": weight,
            "report_date": now.astimezone(UTC).date(),
            "created_at": now,
        },
    )
    if not inserted:
        raise DuplicateReport("You already reported this project today (UTC).")
    open_review = await repo.open_review_id(session, project_id)
    if open_review is not None:
        await repo.attach_reports(session, [report_id], open_review)  # the open case judges it too
        return ReportCreated(report_id=report_id, weight=float(weight), review_triggered=False)
    triggered = await _open_review_if_due(session, project_id, now)
    return ReportCreated(report_id=report_id, weight=float(weight), review_triggered=triggered)


async def _open_review_if_due(session: AsyncSession, project_id: uuid.UUID, now: datetime) -> bool:
    """Open the project's review case when the unjudged reports of the window cross a threshold."""
    since = now - timedelta(days=WINDOW_DAYS)
    window = await repo.unreviewed_in_window(session, project_id, since)
    weight_sum = sum((row.weight for row in window), Decimal(0))
    fraud_weight_sum = sum((row.weight for row in window if row.reason == "fraud"), Decimal(0))
    if weight_sum >= WEIGHT_THRESHOLD:
        trigger = "weight"
    elif fraud_weight_sum >= FRAUD_WEIGHT_THRESHOLD:
        trigger = "fraud_weight"
    else:
        return False
    review_id = uuid.uuid4()
    report_ids = [row.report_id for row in window]
    opened = await repo.insert_open_review(
        session,
        {
            "review_id": review_id,
            "project_id": project_id,
            "trigger": trigger,
            "weight_sum": weight_sum,
            "fraud_weight_sum": fraud_weight_sum,
            "weight_threshold": WEIGHT_THRESHOLD,
            "fraud_weight_threshold": FRAUD_WEIGHT_THRESHOLD,
            "window_days": WINDOW_DAYS,
            "window_start": since,
            "report_ids": report_ids,
            "created_at": now,
        },
    )
    if not opened:
        return False  # unreachable under the project lock; the index still refuses a second open case
    await repo.attach_reports(session, report_ids, review_id)
    await notifications.notify(
        session,
        "moderation_review_triggered",
        dedupe_key=str(review_id),
        payload={
            "review_id": str(review_id),
            "project_id": str(project_id),
            "trigger": trigger,
            "weight_sum": float(weight_sum),
            "fraud_weight_sum": float(fraud_weight_sum),
            "report_count": len(report_ids),
        },
        recipients={},
        now=now,
    )
    return True


async def project_moderation(session: AsyncSession, project_id: uuid.UUID) -> ProjectModeration:
    if await projects.get_project(session, project_id) is None:
        raise ProjectNotFound("Project not found.")
    reviews = [review_read(r) for r in await repo.reviews(session, project_id)]
    return ProjectModeration(
        project_id=project_id,
        reports=[report_read(r) for r in await repo.reports(session, project_id)],
        open_review=next((r for r in reviews if r.status == "open"), None),
        past_reviews=[r for r in reviews if r.status != "open"],
    )


async def decide(
    session: AsyncSession, moderator: Principal, review_id: uuid.UUID, data: ReviewDecision, now: datetime
) -> ReviewRead:
    """Decide once; the same decision again answers the same, a different one is 409."""
    project_id = await repo.review_project_id(session, review_id)
    if project_id is None:
        raise ReviewNotFound("Review not found.")
    await repo.lock_project(session, project_id)  # no report joins the case while it is being decided
    review = await repo.review_for_update(session, review_id)
    assert review is not None  # reviews are never deleted
    if review.status != "open":
        if review.outcome == data.outcome:
            return review_read(review)
        raise ReviewAlreadyDecided(f"This review was already decided: {review.outcome}.")
    review.status = review.outcome = data.outcome
    review.decided_at = now
    review.decided_by = moderator.user_id
    await session.flush()
    upheld = data.outcome == "upheld"
    await repo.adjust_trust(
        session,
        review_id,
        delta=TRUST_STEP if upheld else -TRUST_STEP,
        start=DEFAULT_TRUST,
        floor=MIN_TRUST,
        ceiling=MAX_TRUST,
        upheld=upheld,
        now=now,
    )
    return review_read(review)


def report_read(report: ProjectReport) -> ReportRead:
    return ReportRead(
        report_id=report.report_id,
        reporter_id=report.reporter_id,
        reason=report.reason,  # type: ignore[arg-type]  # checked by the table's constraint
        details=report.details,
        weight=float(report.weight),
        report_date=report.report_date,
        created_at=report.created_at,
        review_id=report.review_id,
    )


def review_read(review: ModerationReview) -> ReviewRead:
    return ReviewRead(
        review_id=review.review_id,
        project_id=review.project_id,
        status=review.status,  # type: ignore[arg-type]  # checked by the table's constraint
        trigger=review.trigger,  # type: ignore[arg-type]
        trigger_inputs=TriggerInputs(
            weight_sum=float(review.weight_sum),
            fraud_weight_sum=float(review.fraud_weight_sum),
            weight_threshold=float(review.weight_threshold),
            fraud_weight_threshold=float(review.fraud_weight_threshold),
            window_days=review.window_days,
            window_start=review.window_start,
            report_ids=list(review.report_ids),
        ),
        created_at=review.created_at,
        decided_at=review.decided_at,
        decided_by=review.decided_by,
        outcome=review.outcome,  # type: ignore[arg-type]
    )
