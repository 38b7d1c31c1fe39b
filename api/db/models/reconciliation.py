"""Reconciliation checks of the journal's provider_balance against the provider's balance transactions."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Identity, String
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.db.models.base import Base, created_at_column

CATEGORIES = ("charge", "refund", "dispute", "dispute_reversal", "payout")
STATUSES = ("matched", "mismatch", "missing_in_journal", "missing_in_provider")


class ReconciliationCheck(Base):
    __tablename__ = "reconciliation_checks"

    check_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    requested_by: Mapped[uuid.UUID]
    from_date: Mapped[date] = mapped_column(Date)
    to_date: Mapped[date] = mapped_column(Date)
    provider_source: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at_column()

    results: Mapped[list[ReconciliationResult]] = relationship(
        lazy="selectin", order_by="ReconciliationResult.result_id"
    )


class ReconciliationResult(Base):
    __tablename__ = "reconciliation_results"
    __table_args__ = (
        CheckConstraint("category in ({})".format(", ".join(f"'{c}'" for c in CATEGORIES)), name="category"),
        CheckConstraint("status in ({})".format(", ".join(f"'{s}'" for s in STATUSES)), name="status"),
    )

    result_id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    check_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reconciliation_checks.check_id"), index=True)
    recon_date: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    category: Mapped[str] = mapped_column(String(32))
    journal_minor: Mapped[int] = mapped_column(BigInteger)
    provider_minor: Mapped[int] = mapped_column(BigInteger)
    difference_minor: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(32))
    provider_transaction_ids: Mapped[list[str]] = mapped_column(ARRAY(String(255)), server_default="{}")
    journal_entry_ids: Mapped[list[str]] = mapped_column(ARRAY(String(64)), server_default="{}")
