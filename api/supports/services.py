"""Business rules of supports: prepare, confirm, read, cancel, expiry, and the facts webhooks record.

Status is never assigned directly: callers record a fact on the support, then `settle` folds the
facts into the canonical status (`machine.canonical_status`) and writes the history row.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import Principal, Role
from api.db.models import Dispute, Support
from api.errors import Conflict, DomainError, NotFound
from api.events.landing import land_server_event, server_event
from api.journal import services as journal
from api.journal.chart import Cause
from api.notifications import services as notifications
from api.payments.gateway import PaymentGateway
from api.projects import repositories as projects
from api.projects.services import ProjectNotFound
from api.supports import repositories as repo
from api.supports.machine import CONFIRMABLE, DisputeState, Facts, Status, canonical_status
from api.supports.schemas import (
    Checkout,
    HistoryItem,
    PolicySnapshot,
    SupportConfirmed,
    SupportPrepare,
    SupportPrepared,
    SupportRead,
)

POLICY = PolicySnapshot(
    policy_version="2026-11-physical-v1",
    reward_type="physical",
    cancellation_window_hours=48,
    refund_policy="Cancel within 48 hours of a successful payment for a full refund; afterwards the "
    "creator ships the reward and no refund is given except through a dispute.",
)
PREPARED_TTL = timedelta(hours=24)
POLL_AFTER_MS = 2000
POLLED: frozenset[Status] = frozenset({"pending_payment", "refund_pending"})


class SupportNotFound(NotFound):
    """api.md lists no code of its own for this 404: the general `not_found`."""


class InvalidTransition(Conflict):
    code = "invalid_transition"


class CancellationWindowClosed(Conflict):
    code = "cancellation_window_closed"


class ProjectNotAcceptingSupports(Conflict):
    code = "project_not_accepting_supports"


class TierNotFound(DomainError):
    status, code = 422, "tier_not_found"


class RewardTypeNotSupported(DomainError):
    status, code = 422, "reward_type_not_supported"


class AmountBelowTierMinimum(DomainError):
    status, code = 422, "amount_below_tier_minimum"


class CurrencyMismatch(DomainError):
    status, code = 422, "currency_mismatch"


# --- the fold ---------------------------------------------------------------------------------


def dispute_state(disputes: list[Dispute]) -> DisputeState:
    states = {d.status for d in disputes}
    if "lost" in states:
        return "lost"
    if "open" in states:
        return "open"
    return "won" if "won" in states else "none"


def facts_of(support: Support, disputes: list[Dispute], now: datetime) -> Facts:
    return Facts(
        amount_minor=support.amount_minor,
        confirmed_at=support.confirmed_at,
        captured=support.succeeded_at is not None,
        failed_at=support.failed_at,
        cancel_requested=support.cancel_requested_at is not None,
        refunded_minor=support.refunded_minor,
        dispute=dispute_state(disputes),
        expired=support.status == "expired" or (support.confirmed_at is None and now >= support.expires_at),
    )


async def settle(
    session: AsyncSession,
    support: Support,
    *,
    reason: str,
    source: str,
    now: datetime,
    provider_event_id: str | None = None,
    disputes: list[Dispute] | None = None,
) -> bool:
    """Fold the facts into the status; write history (applied or not). True when the status changed."""
    if disputes is None:
        disputes = await repo.disputes(session, support.support_id)
    new = canonical_status(facts_of(support, disputes, now))
    old = support.status
    support.status = new
    support.version += 1
    support.updated_at = now
    await repo.add_history(
        session,
        support_id=support.support_id,
        from_status=old,
        to_status=new,
        reason=reason,
        source=source,
        provider_event_id=provider_event_id,
        applied=new != old,
        occurred_at=now,
    )
    return new != old


# --- client routes ----------------------------------------------------------------------------


async def prepare(
    session: AsyncSession, supporter: Principal, project_id: uuid.UUID, data: SupportPrepare, now: datetime
) -> SupportPrepared:
    project = await projects.get_project(session, project_id)
    if project is None:
        raise ProjectNotFound("Project not found.")
    if project.status != "live":
        raise ProjectNotAcceptingSupports("This project is not accepting supports.")
    tier = next((t for t in project.tiers if t.tier_id == data.tier_id), None)
    if tier is None:
        raise TierNotFound("The project has no such reward tier.")
    if tier.reward_type != "physical":
        raise RewardTypeNotSupported("Only physical reward tiers can be supported.")
    if data.currency != project.currency:
        raise CurrencyMismatch(f"The project takes {project.currency}.")
    if data.amount_minor < tier.amount_minor:
        raise AmountBelowTierMinimum(f"This tier starts at {tier.amount_minor} minor units.")

    support = Support(
        support_id=uuid.uuid4(),
        project_id=project_id,
        tier_id=tier.tier_id,
        supporter_id=supporter.user_id,
        amount_minor=data.amount_minor,
        currency=data.currency,
        status="prepared",
        policy_snapshot={
            "policy_version": POLICY.policy_version,
            "reward_type": POLICY.reward_type,
            "cancellation_window_hours": POLICY.cancellation_window_hours,
            "refund_policy": POLICY.refund_policy,
        },
        expires_at=now + PREPARED_TTL,
        version=1,
        refunded_minor=0,
        created_at=now,
        updated_at=now,
    )
    await repo.add(session, support)
    await repo.add_history(
        session,
        support_id=support.support_id,
        from_status=None,
        to_status="prepared",
        reason="prepare",
        source="api",
        applied=True,
        occurred_at=now,
    )
    await land_server_event(
        session,
        server_event(
            "support_prepared",
            cause=str(support.support_id),
            occurred_at=now,
            user_id=supporter.user_id,
            project_id=project_id,
            properties={
                "support_id": str(support.support_id),
                "amount_minor": support.amount_minor,
                "currency": support.currency,
                "reward_type": "physical",
            },
        ),
    )
    return SupportPrepared(
        support_id=support.support_id,
        status="prepared",
        project_id=project_id,
        tier_id=tier.tier_id,
        amount_minor=support.amount_minor,
        currency=support.currency,
        policy_snapshot=POLICY,
        expires_at=support.expires_at,
    )


async def _owned(session: AsyncSession, principal: Principal, support_id: uuid.UUID) -> Support:
    support = await repo.get(session, support_id, for_update=True)
    if support is None or support.supporter_id != principal.user_id:
        raise SupportNotFound("Support not found.")
    return support


async def confirm(
    session: AsyncSession, owner: Principal, support_id: uuid.UUID, gateway: PaymentGateway, now: datetime
) -> SupportConfirmed:
    """Create (or reuse) the PaymentIntent; never marks success — only the webhook does."""
    support = await _owned(session, owner, support_id)
    await _expire_if_due(session, support, now)
    if support.status not in CONFIRMABLE:
        raise InvalidTransition(f"A support in status {support.status} cannot be confirmed.")
    if support.payment_intent_id is None:
        intent = await gateway.create_payment_intent(
            support_id=str(support.support_id),
            amount_minor=support.amount_minor,
            currency=support.currency,
            idempotency_key=f"support-{support.support_id}-payment-intent",
        )
        support.payment_intent_id = intent.payment_intent_id
    else:
        intent = await gateway.retrieve_payment_intent(support.payment_intent_id)
    support.confirmed_at = now
    await settle(session, support, reason="confirm", source="api", now=now)
    return SupportConfirmed(
        support_id=support.support_id,
        status=support.status,  # type: ignore[arg-type]
        checkout=Checkout(
            provider="stripe",
            payment_intent_id=intent.payment_intent_id,
            client_secret=intent.client_secret,
            publishable_key=gateway.publishable_key,
        ),
    )


async def read(session: AsyncSession, viewer: Principal, support_id: uuid.UUID, now: datetime) -> SupportRead:
    """The canonical status: one autocommit query; a due expiry is applied first (lazily), in the unit of work."""
    row = await repo.committed_status_document(session, support_id)
    if row is None or not _may_read(viewer, row["supporter_id"], row["creator_id"]):
        raise SupportNotFound("Support not found.")
    if row["status"] == "prepared" and now >= row["expires_at"]:
        support = await repo.get(session, support_id, for_update=True)
        assert support is not None
        await _expire_if_due(session, support, now)
        return await support_read(session, support)
    return _document(row)


async def cancel(
    session: AsyncSession, owner: Principal, support_id: uuid.UUID, gateway: PaymentGateway, now: datetime
) -> SupportRead:
    support = await _owned(session, owner, support_id)
    if support.status != "succeeded" or support.succeeded_at is None:
        raise InvalidTransition(f"A support in status {support.status} cannot be cancelled.")
    if now >= cancellable_until(support, support.succeeded_at):
        raise CancellationWindowClosed("The 48-hour cancellation window has closed.")
    assert support.payment_intent_id is not None  # a captured support always has one
    await gateway.refund(
        payment_intent_id=support.payment_intent_id,
        support_id=str(support.support_id),
        idempotency_key=f"support-{support.support_id}-cancel-refund",
    )
    support.cancel_requested_at = now
    await settle(session, support, reason="cancel", source="api", now=now)
    await land_server_event(
        session,
        server_event(
            "support_canceled",
            cause=str(support.support_id),
            occurred_at=now,
            user_id=support.supporter_id,
            project_id=support.project_id,
            properties={"support_id": str(support.support_id)},
        ),
    )
    return await support_read(session, support)


async def expire_due(session: AsyncSession, now: datetime, limit: int = 500) -> int:
    """Worker sweep: prepared supports unconfirmed for 24 h become `expired` (source system)."""
    ids = await repo.expired_prepared_ids(session, now, limit)
    for support_id in ids:
        support = await repo.get(session, support_id)
        assert support is not None
        await settle(session, support, reason="expired: unconfirmed for 24 h", source="system", now=now)
    return len(ids)


async def _expire_if_due(session: AsyncSession, support: Support, now: datetime) -> None:
    if support.status == "prepared" and now >= support.expires_at:
        await settle(session, support, reason="expired: unconfirmed for 24 h", source="system", now=now)


def _may_read(viewer: Principal, supporter_id: uuid.UUID, creator_id: uuid.UUID) -> bool:
    """The supporter, the project's creator and ops; everyone else is told it does not exist."""
    return viewer.role is Role.ops or viewer.user_id in (supporter_id, creator_id)


def cancellable_until(support: Support, succeeded_at: datetime) -> datetime:
    return succeeded_at + timedelta(hours=int(support.policy_snapshot["cancellation_window_hours"]))


async def support_read(session: AsyncSession, support: Support) -> SupportRead:
    """The status document as the transaction sees it (after a write)."""
    return _document(await repo.status_document(session, support.support_id))


def _document(row: Any) -> SupportRead:
    status: Status = row["status"]
    succeeded_at: datetime | None = row["succeeded_at"]
    policy = msgspec.json.decode(row["policy_snapshot"], type=PolicySnapshot)
    return SupportRead(
        support_id=row["support_id"],
        status=status,
        project_id=row["project_id"],
        tier_id=row["tier_id"],
        amount_minor=row["amount_minor"],
        currency=row["currency"],
        policy_snapshot=policy,
        history=msgspec.json.decode(row["history"], type=list[HistoryItem]),
        payment_intent_id=row["payment_intent_id"],
        succeeded_at=succeeded_at,
        cancellable_until=succeeded_at + timedelta(hours=policy.cancellation_window_hours)
        if status == "succeeded" and succeeded_at
        else None,
        dispute_id=row["dispute_id"],
        poll_after_ms=POLL_AFTER_MS if status in POLLED else None,
    )


# --- facts recorded by webhooks ----------------------------------------------------------------


async def record_capture(
    session: AsyncSession,
    support: Support,
    *,
    captured_at: datetime,
    paid_at: datetime,
    charge_id: str | None,
    provider_event_id: str,
) -> None:
    """The money was captured (a succeeded PaymentIntent, or implied by a refund or dispute).

    `captured_at` is when Patronage learned it (webhook time): `succeeded_at`, from which payouts count
    business days and the cancellation window runs. `paid_at` is when the provider took the money
    (`Webhook.paid_at`, never after `captured_at`): the journal's `support_hold` and the `payment_succeeded`
    server event are dated by it, as the provider's balance transaction is, so that a day's payments
    reconcile and count on the day they were made even when their webhook came later.
    The bookings (idempotent per support) come before the support's own fields change, so the
    handler writes the support row once, when it settles the status.
    """
    charge_id = support.charge_id or charge_id
    posted = await journal.post(
        session,
        "support_hold",
        Cause(
            key=f"support_hold:{support.support_id}",
            occurred_at=paid_at,
            project_id=support.project_id,
            support_id=support.support_id,
            provider_event_id=provider_event_id,
            provider_object_id=charge_id,
        ),
        support.amount_minor,
        support.currency,
    )
    if posted:
        await land_server_event(
            session,
            server_event(
                "payment_succeeded",
                cause=str(support.support_id),
                occurred_at=paid_at,
                user_id=support.supporter_id,
                project_id=support.project_id,
                properties={
                    "support_id": str(support.support_id),
                    "amount_minor": support.amount_minor,
                    "currency": support.currency,
                    "payment_intent_id": support.payment_intent_id,
                },
            ),
        )
        await notifications.notify(
            session,
            "payment_succeeded",
            dedupe_key=str(support.support_id),
            payload=_notification_payload(support),
            recipients=await notifications.project_audience(session, support.project_id, support.supporter_id),
            now=captured_at,
        )
    if charge_id != support.charge_id:
        support.charge_id = charge_id
    if support.succeeded_at is None or captured_at < support.succeeded_at:
        support.succeeded_at = captured_at


async def record_failure(
    session: AsyncSession, support: Support, *, failed_at: datetime, failure_code: str | None
) -> None:
    if support.failed_at is None or failed_at > support.failed_at:
        support.failed_at = failed_at
        support.failure_code = failure_code


async def record_refund(
    session: AsyncSession,
    support: Support,
    *,
    refunded_total: int,
    refunded_at: datetime,
    refund_id: str | None,
    provider_event_id: str,
) -> None:
    """Book the part of `refunded_total` (cumulative) that the journal does not hold yet."""
    delta = refunded_total - support.refunded_minor
    if delta <= 0:
        return
    await journal.post(
        session,
        "refund",
        Cause(
            key=f"refund:{support.support_id}:{refunded_total}",
            occurred_at=refunded_at,
            project_id=support.project_id,
            support_id=support.support_id,
            provider_event_id=provider_event_id,
            provider_object_id=refund_id,
        ),
        delta,
        support.currency,
    )
    support.refunded_minor = refunded_total
    await land_server_event(
        session,
        server_event(
            "refund_issued",
            cause=f"{support.support_id}:{refunded_total}",
            occurred_at=refunded_at,
            user_id=support.supporter_id,
            project_id=support.project_id,
            properties={"support_id": str(support.support_id), "amount_minor": delta, "currency": support.currency},
        ),
    )
    await notifications.notify(
        session,
        "refund_issued",
        dedupe_key=f"{support.support_id}:{refunded_total}",
        payload={**_notification_payload(support), "amount_minor": delta},
        recipients=await notifications.project_audience(session, support.project_id, support.supporter_id),
        now=refunded_at,
    )


def _notification_payload(support: Support) -> dict[str, Any]:
    return {
        "support_id": str(support.support_id),
        "project_id": str(support.project_id),
        "amount_minor": support.amount_minor,
        "currency": support.currency,
    }
