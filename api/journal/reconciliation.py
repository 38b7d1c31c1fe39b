"""Reconciliation: the journal's provider_balance movements against the provider's balance transactions,
per UTC day, currency and reporting category, with the ids that explain every difference.

A check compares gross amounts, the provider's `amount` (api.md): the journal's `provider_fee` entries are left
out here; the reconciliation marts and `patronage reconcile` compare the fee and net as well."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import Principal
from api.db.models import ReconciliationCheck, ReconciliationResult
from api.errors import FieldError, NotFound, ValidationFailed
from api.journal import repositories as repo
from api.journal.schemas import ReconciliationCheckRead, ReconciliationRequest, ReconciliationRow
from api.payments.gateway import BalanceTransaction, PaymentGateway

CATEGORIES = ("charge", "refund", "dispute", "dispute_reversal", "payout")
MAX_DAYS = 92


class CheckNotFound(NotFound):
    """api.md lists no code of its own for this 404: the general `not_found`."""


@dataclass
class Cell:
    journal_minor: int = 0
    provider_minor: int = 0
    journal_rows: int = 0
    provider_rows: int = 0
    journal_refs: dict[str, str | None] = field(default_factory=dict)  # entry id → provider object id
    provider_refs: dict[str, str | None] = field(default_factory=dict)  # transaction id → source
    journal_by_object: dict[str | None, int] = field(default_factory=lambda: defaultdict(int))
    provider_by_source: dict[str | None, int] = field(default_factory=lambda: defaultdict(int))

    def row(self, day: date, currency: str, category: str) -> ReconciliationResult:
        difference = self.journal_minor - self.provider_minor
        if not self.provider_rows:
            status = "missing_in_provider"
        elif not self.journal_rows:
            status = "missing_in_journal"
        else:
            status = "matched" if difference == 0 else "mismatch"
        # A Stripe object explains itself when both sides know it and agree on its amount; the rest
        # (one side only, or the same object with different amounts) is what explains the difference.
        agreed = {
            obj
            for obj, amount in self.journal_by_object.items()
            if obj is not None and self.provider_by_source.get(obj) == amount
        }
        unmatched_tx = (
            [] if status == "matched" else sorted(tx for tx, s in self.provider_refs.items() if s not in agreed)
        )
        unmatched_entries = (
            [] if status == "matched" else sorted(e for e, obj in self.journal_refs.items() if obj not in agreed)
        )
        return ReconciliationResult(
            recon_date=day,
            currency=currency,
            category=category,
            journal_minor=self.journal_minor,
            provider_minor=self.provider_minor,
            difference_minor=difference,
            status=status,
            provider_transaction_ids=unmatched_tx,
            journal_entry_ids=unmatched_entries,
        )


def compare(
    journal: list[tuple[date, str, str, uuid.UUID, str | None, int]], provider: list[BalanceTransaction]
) -> list[ReconciliationResult]:
    cells: dict[tuple[date, str, str], Cell] = defaultdict(Cell)
    for day, currency, category, entry_id, provider_object_id, amount in journal:
        cell = cells[(day, currency, category)]
        cell.journal_minor += amount
        cell.journal_rows += 1
        cell.journal_refs[str(entry_id)] = provider_object_id
        cell.journal_by_object[provider_object_id] += amount
    for tx in provider:
        if tx.reporting_category not in CATEGORIES:
            continue  # fees, transfers, adjustments: nothing in the journal to compare with
        cell = cells[(tx.created.date(), tx.currency, tx.reporting_category)]
        cell.provider_minor += tx.amount_minor
        cell.provider_rows += 1
        cell.provider_refs[tx.transaction_id] = tx.source
        cell.provider_by_source[tx.source] += tx.amount_minor
    return [cells[key].row(*key) for key in sorted(cells)]


async def run_check(
    session: AsyncSession, gateway: PaymentGateway, requester: Principal, data: ReconciliationRequest
) -> ReconciliationCheckRead:
    if data.to_date < data.from_date or (data.to_date - data.from_date).days >= MAX_DAYS:
        raise ValidationFailed(
            f"from_date must not be after to_date, and a check covers at most {MAX_DAYS} days.",
            errors=[FieldError(path="$.to_date", message="out of range")],
        )
    since = datetime.combine(data.from_date, time.min, tzinfo=UTC)
    until = datetime.combine(data.to_date + timedelta(days=1), time.min, tzinfo=UTC)
    provider = await gateway.balance_transactions(since, until)
    journal = await repo.provider_balance_movements(session, data.from_date, data.to_date)
    check = ReconciliationCheck(
        check_id=uuid.uuid4(),
        requested_by=requester.user_id,
        from_date=data.from_date,
        to_date=data.to_date,
        provider_source="stripe_api",
        created_at=datetime.now(UTC),
    )
    check.results = compare(journal, provider)
    session.add(check)
    await session.flush()
    return check_read(check)


async def get_check(session: AsyncSession, check_id: uuid.UUID) -> ReconciliationCheckRead:
    check = await session.get(ReconciliationCheck, check_id)
    if check is None:
        raise CheckNotFound("Reconciliation check not found.")
    return check_read(check)


def check_read(check: ReconciliationCheck) -> ReconciliationCheckRead:
    rows = [
        ReconciliationRow(
            recon_date=r.recon_date,
            currency=r.currency,
            category=r.category,  # type: ignore[arg-type]
            journal_minor=r.journal_minor,
            provider_minor=r.provider_minor,
            difference_minor=r.difference_minor,
            status=r.status,  # type: ignore[arg-type]
            provider_transaction_ids=list(r.provider_transaction_ids),
            journal_entry_ids=list(r.journal_entry_ids),
        )
        for r in check.results
    ]
    return ReconciliationCheckRead(
        check_id=check.check_id,
        from_date=check.from_date,
        to_date=check.to_date,
        created_at=check.created_at,
        matched=all(r.status == "matched" for r in rows),
        results=rows,
    )
