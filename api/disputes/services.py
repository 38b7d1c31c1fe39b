"""Disputes as the provider reports them: opening, closing (won/lost), and their journal entries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from api.db.models import Dispute, Support
from api.disputes import repositories as repo
from api.events.landing import land_server_event, server_event
from api.journal import repositories as journal_repo
from api.journal import services as journal


@dataclass(frozen=True)
class ProviderDispute:
    """The fields of a Stripe dispute object we rely on."""

    provider_dispute_id: str
    amount_minor: int
    currency: str
    reason: str | None
    created: datetime
    evidence_due_by: datetime | None


async def open_dispute(
    session: AsyncSession, support: Support, data: ProviderDispute, *, provider_event_id: str
) -> Dispute:
    """The dispute row and its `dispute_open` entry, once, whichever dispute event arrives first."""
    dispute = await repo.by_provider_id(session, data.provider_dispute_id)
    if dispute is None:
        dispute = Dispute(
            dispute_id=uuid.uuid4(),
            provider_dispute_id=data.provider_dispute_id,
            support_id=support.support_id,
            project_id=support.project_id,
            status="open",
            reason=data.reason,
            amount_minor=data.amount_minor,
            currency=data.currency,
            evidence_due_by=data.evidence_due_by,
            provider_created_at=data.created,
        )
        await repo.add(session, dispute)
    posted = await journal.post(
        session,
        "dispute_open",
        _cause("dispute_open", dispute, support, data.created, provider_event_id),
        dispute.amount_minor,
        dispute.currency,
    )
    if posted:
        await land_server_event(
            session,
            server_event(
                "dispute_opened",
                cause=data.provider_dispute_id,
                occurred_at=data.created,
                user_id=support.supporter_id,
                project_id=support.project_id,
                properties={
                    "dispute_id": str(dispute.dispute_id),
                    "support_id": str(support.support_id),
                    "amount_minor": dispute.amount_minor,
                    "currency": dispute.currency,
                },
            ),
        )
    return dispute


async def close_dispute(
    session: AsyncSession,
    support: Support,
    data: ProviderDispute,
    outcome: Literal["won", "lost"],
    *,
    closed_at: datetime,
    provider_event_id: str,
) -> Dispute:
    dispute = await open_dispute(session, support, data, provider_event_id=provider_event_id)
    if dispute.status == "open":
        dispute.status = outcome
        dispute.closed_at = closed_at
    cause = _cause("dispute_close", dispute, support, closed_at, provider_event_id)
    posted = await journal.post(
        session,
        "dispute_close_won" if dispute.status == "won" else "dispute_close_lost",
        cause,
        dispute.amount_minor,
        dispute.currency,
    )
    if posted:
        await land_server_event(
            session,
            server_event(
                "dispute_closed",
                cause=data.provider_dispute_id,
                occurred_at=closed_at,
                user_id=support.supporter_id,
                project_id=support.project_id,
                properties={"dispute_id": str(dispute.dispute_id), "outcome": dispute.status},
            ),
        )
    return dispute


async def true_up_losses(
    session: AsyncSession, support: Support, disputes: list[Dispute], *, at: datetime, provider_event_id: str
) -> None:
    """A lost dispute debits the creator's payable; the part the payable cannot cover is the platform's loss.

    Re-evaluated after every event for the support, because events that reduce the payable (a refund
    that happened before the dispute) may arrive after the dispute closed: the booked loss then
    grows to what it would have been in provider order, and `creator_payable` never shows the
    creator owing money.
    """
    for dispute in disputes:
        if dispute.status != "lost":
            continue
        booked = await journal_repo.loss_booked(session, dispute.dispute_id)
        balance = await journal_repo.account_balance(session, "creator_payable", support.project_id, dispute.currency)
        uncovered = min(max(balance, 0), dispute.amount_minor - booked)
        if uncovered > 0:
            cause = _cause("loss_booking", dispute, support, at, provider_event_id)
            await journal.post(
                session,
                "loss_booking",
                journal.Cause(**{**cause.__dict__, "key": f"{cause.key}:{booked + uncovered}"}),
                uncovered,
                dispute.currency,
            )


def _cause(kind: str, dispute: Dispute, support: Support, at: datetime, provider_event_id: str) -> journal.Cause:
    return journal.Cause(
        key=f"{kind}:{dispute.provider_dispute_id}",
        occurred_at=at,
        project_id=support.project_id,
        support_id=support.support_id,
        dispute_id=dispute.dispute_id,
        provider_event_id=provider_event_id,
        provider_object_id=dispute.provider_dispute_id,
    )
