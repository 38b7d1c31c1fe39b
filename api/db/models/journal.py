"""The double-entry journal: immutable entries of signed integer lines that sum to zero."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Identity, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.db.models.base import Base, created_at_column

ENTRY_TYPES = (
    "support_hold",
    "payout_release",
    "refund",
    "dispute_open",
    "dispute_close",
    "loss_booking",
    "provider_fee",
)
ACCOUNTS = ("provider_balance", "creator_payable", "disputed_funds", "dispute_loss_expense", "provider_fee")


class JournalEntry(Base):
    __tablename__ = "journal_entries"
    __table_args__ = (
        CheckConstraint("entry_type in ({})".format(", ".join(f"'{t}'" for t in ENTRY_TYPES)), name="entry_type"),
    )

    entry_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    entry_type: Mapped[str] = mapped_column(String(32), index=True)
    cause_key: Mapped[str] = mapped_column(String(255), unique=True)  # idempotency on the cause
    project_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    support_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    payout_id: Mapped[uuid.UUID | None]
    dispute_id: Mapped[uuid.UUID | None]
    provider_event_id: Mapped[str | None] = mapped_column(String(255))
    provider_object_id: Mapped[str | None] = mapped_column(String(255), index=True)
    # provider_fee entries: the provider balance transaction whose fee they book.
    provider_transaction_id: Mapped[str | None] = mapped_column(String(255))
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime] = created_at_column()

    lines: Mapped[list[JournalLine]] = relationship(lazy="selectin", order_by="JournalLine.line_id")


class JournalLine(Base):
    __tablename__ = "journal_lines"
    __table_args__ = (
        CheckConstraint("amount_minor <> 0", name="amount_nonzero"),
        CheckConstraint("account_code in ({})".format(", ".join(f"'{a}'" for a in ACCOUNTS)), name="account_code"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency"),
    )

    line_id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    entry_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("journal_entries.entry_id"), index=True)
    account_code: Mapped[str] = mapped_column(String(32))
    project_id: Mapped[uuid.UUID | None]
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger)  # debit > 0, credit < 0
