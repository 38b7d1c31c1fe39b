"""What each Stripe event does, on one screen: `HANDLERS` maps event type → handler.

A handler records facts on the matched support (capture, failure, refund, dispute), then the support
settles to its canonical status. Facts are idempotent and commutative, so events may arrive in any
order and more than once. Each handler answers an outcome stored on the inbox row:
`applied` / `not_applied` (status unchanged, e.g. a failure after success) / `unmatched` (no such
support) / `flagged` (amount or currency disagree with the support; nothing applied). Payout events
do the same on the matched payout (`api.payouts.services`). Once a charge, refund or dispute is in the
journal, the provider's fees on it are booked (`_with_fees`): those of the balance transactions the event
carries (a dispute's) and those the worker's listing kept before the event arrived.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from api.db.models import Dispute, Support
from api.disputes import services as disputes
from api.events.landing import land_server_event, server_event
from api.journal import services as journal
from api.notifications import services as notifications
from api.payments.gateway import BalanceTransaction, balance_transaction_of
from api.payouts import services as payouts
from api.settings import DisputeSettings
from api.supports import repositories as supports_repo
from api.supports import services as supports

log = logging.getLogger(__name__)

Outcome = Literal["applied", "not_applied", "ignored", "unmatched", "flagged"]


@dataclass(frozen=True)
class Webhook:
    session: AsyncSession
    event_id: str
    event_type: str
    obj: dict[str, Any]
    created: datetime
    now: datetime
    disputes: DisputeSettings  # SLA clocks of the disputes opened here
    payout_country: str  # whose business days schedule the payouts

    @property
    def paid_at(self) -> datetime:
        """When the provider took the money: its event's time, at the end of that second (Stripe's `created` has
        whole seconds, and the client's checkout of the same second came before it), never after the event
        arrived. A webhook redelivered hours later still dates the payment when it happened."""
        return min(self.now, self.created + timedelta(seconds=1) - timedelta(microseconds=1))


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    detail: str | None = None


def _ts(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), tz=UTC) if isinstance(value, (int, float)) and value > 0 else None


def _id(value: Any) -> str | None:
    """Stripe expands some references into objects (and emulators always do)."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def _carried(*values: Any) -> list[BalanceTransaction]:
    """The balance transactions an event's object carries in full: a dispute's `balance_transactions` always, a
    charge's or refund's `balance_transaction` when expanded (an id alone carries no fee)."""
    found = []
    for value in values:
        for item in value if isinstance(value, list) else [value]:
            if (
                isinstance(item, dict)
                and isinstance(item.get("id"), str)
                and isinstance(item.get("amount"), int)
                and isinstance(item.get("currency"), str)
                and isinstance(item.get("created"), int)
            ):
                found.append(balance_transaction_of(item))
    return found


async def _with_fees(hook: Webhook, result: Result, sources: list[str | None], carried: list[Any]) -> Result:
    """Once the event's objects are in the journal: keep the transactions it carries and book the fees of the
    transactions of its charge, refund or dispute that are known (whichever of the two facts came second)."""
    if result.outcome in ("applied", "not_applied"):
        await journal.book_provider_fees(hook.session, _carried(*carried), sources=[s for s in sources if s])
    return result


class Found(NamedTuple):
    support: Support
    disputes: list[Dispute] | None  # loaded with the support, or None: not looked up yet


async def _support_for_intent(hook: Webhook, payment_intent_id: str | None, metadata: Any) -> Found | None:
    if payment_intent_id:
        found = await supports_repo.by_payment_intent(hook.session, payment_intent_id)
        if found is not None:
            return Found(*found)
    support_id = metadata.get("support_id") if isinstance(metadata, dict) else None
    if not support_id:
        return None
    try:
        support = await supports_repo.get(hook.session, uuid.UUID(str(support_id)), for_update=True)
    except ValueError:
        return None
    if support is None or (support.payment_intent_id not in (None, payment_intent_id)):
        return None
    support.payment_intent_id = support.payment_intent_id or payment_intent_id
    return Found(support, None)


def _mismatch(support: Support, amount: Any, currency: Any, *, at_most: bool = False) -> str | None:
    if not isinstance(currency, str) or currency.upper() != support.currency:
        return f"currency {currency!r} differs from the support's {support.currency}"
    if not isinstance(amount, int) or (amount > support.amount_minor if at_most else amount != support.amount_minor):
        relation = "at most" if at_most else "exactly"
        return f"amount {amount!r} is not {relation} the support's {support.amount_minor}"
    return None


async def _settle(
    hook: Webhook, support: Support, *, disputes_loaded: list[Dispute] | None = None, first_capture: bool = False
) -> Result:
    """Fold the support's facts into its status and its payout. `disputes_loaded`: its disputes as
    loaded with it, when this event has not changed them since."""
    support_disputes = (
        disputes_loaded
        if disputes_loaded is not None
        else await supports_repo.disputes(hook.session, support.support_id)
    )
    await disputes.true_up_losses(
        hook.session, support, support_disputes, at=hook.created, provider_event_id=hook.event_id
    )
    changed = await supports.settle(
        hook.session,
        support,
        reason=hook.event_type,
        source="webhook",
        now=hook.now,
        provider_event_id=hook.event_id,
        disputes=support_disputes,
    )
    await payouts.sync_support(
        hook.session,
        support,
        now=hook.now,
        country=hook.payout_country,
        disputes=support_disputes,
        first_capture=first_capture,
    )
    return Result("applied" if changed else "not_applied", None if changed else f"status stays {support.status}")


async def payment_succeeded(hook: Webhook) -> Result:
    intent = hook.obj
    found = await _support_for_intent(hook, _id(intent.get("id")), intent.get("metadata"))
    if found is None:
        return Result("unmatched", "no support for this PaymentIntent")
    support = found.support
    amount = intent.get("amount_received", intent.get("amount"))
    if problem := _mismatch(support, amount, intent.get("currency")):
        return Result("flagged", problem)
    first_capture = support.succeeded_at is None
    charge = intent.get("latest_charge")
    await supports.record_capture(
        hook.session,
        support,
        captured_at=hook.now,
        paid_at=hook.paid_at,
        charge_id=_id(charge),
        provider_event_id=hook.event_id,
    )
    result = await _settle(hook, support, disputes_loaded=found.disputes, first_capture=first_capture)
    carried = charge.get("balance_transaction") if isinstance(charge, dict) else None
    return await _with_fees(hook, result, [_id(charge)], [carried])


async def payment_failed(hook: Webhook) -> Result:
    intent = hook.obj
    found = await _support_for_intent(hook, _id(intent.get("id")), intent.get("metadata"))
    if found is None:
        return Result("unmatched", "no support for this PaymentIntent")
    support = found.support
    error = intent.get("last_payment_error") or {}
    failure_code = error.get("decline_code") or error.get("code") if isinstance(error, dict) else None
    # When Patronage learned it, like a capture: Stripe's `created` has whole seconds and another clock,
    # so it cannot say whether a confirm (retry) came before or after it.
    await supports.record_failure(hook.session, support, failed_at=hook.now, failure_code=failure_code)
    result = await _settle(hook, support, disputes_loaded=found.disputes)
    if result.outcome == "applied" and support.status == "failed":
        properties = {"support_id": str(support.support_id)}
        if failure_code:
            properties["failure_code"] = str(failure_code)
        await land_server_event(
            hook.session,
            server_event(
                "payment_failed",
                cause=hook.event_id,
                occurred_at=hook.created,
                user_id=support.supporter_id,
                project_id=support.project_id,
                properties=properties,
            ),
        )
        await notifications.notify(
            hook.session,
            "payment_failed",
            dedupe_key=hook.event_id,
            payload={**properties, "project_id": str(support.project_id)},
            recipients={"supporter": [support.supporter_id]},
            now=hook.now,
        )
    return result


async def charge_refunded(hook: Webhook) -> Result:
    charge = hook.obj
    found = await _support_for_intent(hook, _id(charge.get("payment_intent")), charge.get("metadata"))
    if found is None:
        return Result("unmatched", "no support for this charge")
    support = found.support
    refunded = charge.get("amount_refunded")
    if problem := _mismatch(support, refunded, charge.get("currency"), at_most=True):
        return Result("flagged", problem)
    assert isinstance(refunded, int)  # checked by _mismatch
    refunds = (charge.get("refunds") or {}).get("data") or []
    refund_id = _id(refunds[0]) if refunds else None
    await supports.record_capture(
        hook.session,
        support,
        captured_at=hook.now,
        paid_at=hook.paid_at,
        charge_id=_id(charge.get("id")),
        provider_event_id=hook.event_id,
    )
    await supports.record_refund(
        hook.session,
        support,
        refunded_total=refunded,
        refunded_at=hook.created,
        refund_id=refund_id,
        provider_event_id=hook.event_id,
    )
    result = await _settle(hook, support, disputes_loaded=found.disputes)
    refund_objects = [r for r in refunds if isinstance(r, dict)]
    return await _with_fees(
        hook,
        result,
        [_id(charge.get("id")), *(_id(r) for r in refunds)],
        [charge.get("balance_transaction"), *(r.get("balance_transaction") for r in refund_objects)],
    )


def _provider_dispute(obj: dict[str, Any], fallback_created: datetime) -> disputes.ProviderDispute:
    evidence = obj.get("evidence_details") or {}
    return disputes.ProviderDispute(
        provider_dispute_id=str(obj.get("id")),
        amount_minor=int(obj.get("amount") or 0),
        currency=str(obj.get("currency") or "").upper(),
        reason=obj.get("reason"),
        created=_ts(obj.get("created")) or fallback_created,
        evidence_due_by=_ts(evidence.get("due_by")) if isinstance(evidence, dict) else None,
    )


async def _dispute_support(hook: Webhook) -> tuple[Support | None, Result | None]:
    obj = hook.obj
    found = await _support_for_intent(hook, _id(obj.get("payment_intent")), obj.get("metadata"))
    support = None if found is None else found.support  # its disputes are about to change: not reused
    if support is None and (charge_id := _id(obj.get("charge"))):
        support = await supports_repo.by_charge(hook.session, charge_id)
    if support is None:
        return None, Result("unmatched", "no support for this dispute")
    if not _id(obj.get("id")):
        return None, Result("flagged", "dispute without id")
    if problem := _mismatch(support, obj.get("amount"), obj.get("currency"), at_most=True):
        return None, Result("flagged", problem)
    await supports.record_capture(
        hook.session,
        support,
        captured_at=hook.now,
        paid_at=hook.paid_at,
        charge_id=_id(obj.get("charge")),
        provider_event_id=hook.event_id,
    )
    return support, None


async def dispute_created(hook: Webhook) -> Result:
    support, refused = await _dispute_support(hook)
    if support is None:
        assert refused is not None
        return refused
    await disputes.open_dispute(
        hook.session,
        support,
        _provider_dispute(hook.obj, hook.created),
        provider_event_id=hook.event_id,
        policy=hook.disputes,
        now=hook.now,
    )
    result = await _settle(hook, support)
    return await _with_fees(hook, result, [_id(hook.obj.get("id"))], [hook.obj.get("balance_transactions")])


async def dispute_closed(hook: Webhook) -> Result:
    outcome = hook.obj.get("status")
    if outcome not in ("won", "lost"):
        return Result("not_applied", f"dispute closed as {outcome!r}: neither won nor lost")
    support, refused = await _dispute_support(hook)
    if support is None:
        assert refused is not None
        return refused
    await disputes.close_dispute(
        hook.session,
        support,
        _provider_dispute(hook.obj, hook.created),
        outcome,
        closed_at=hook.created,
        provider_event_id=hook.event_id,
        policy=hook.disputes,
        now=hook.now,
    )
    result = await _settle(hook, support)
    return await _with_fees(hook, result, [_id(hook.obj.get("id"))], [hook.obj.get("balance_transactions")])


async def _payout_outcome(hook: Webhook, outcome: Literal["paid", "failed"]) -> Result:
    obj = hook.obj
    provider_payout_id = _id(obj.get("id"))
    payout = await payouts.for_provider_payout(hook.session, provider_payout_id, obj.get("metadata"))
    if payout is None:
        return Result("unmatched", "no payout for this Stripe payout")
    if problem := payouts.provider_mismatch(payout, obj.get("amount"), obj.get("currency")):
        return Result("flagged", problem)
    failure_code = obj.get("failure_code") if outcome == "failed" else None
    changed = await payouts.record_provider_outcome(
        hook.session,
        payout,
        outcome,
        at=hook.created,
        failure_code=failure_code if isinstance(failure_code, str) else None,
        provider_payout_id=provider_payout_id,
        now=hook.now,
    )
    return Result("applied" if changed else "not_applied", None if changed else f"payout stays {payout.status}")


async def payout_paid(hook: Webhook) -> Result:
    return await _payout_outcome(hook, "paid")


async def payout_failed(hook: Webhook) -> Result:
    return await _payout_outcome(hook, "failed")


HANDLERS: dict[str, Callable[[Webhook], Awaitable[Result]]] = {
    "payment_intent.succeeded": payment_succeeded,
    "payment_intent.payment_failed": payment_failed,
    "charge.refunded": charge_refunded,
    "charge.dispute.created": dispute_created,
    "charge.dispute.closed": dispute_closed,
    "payout.paid": payout_paid,
    "payout.failed": payout_failed,
}
