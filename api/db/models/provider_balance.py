"""The provider's balance transactions as Patronage has seen them: the source of the fees the journal books."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from api.db.models.base import Base, created_at_column


class ProviderBalanceTransaction(Base):
    """One Stripe balance transaction (txn_…), as Stripe reported it; never changed once stored."""

    __tablename__ = "provider_balance_transactions"
    __table_args__ = (
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency"),
        CheckConstraint("net_minor = amount_minor - fee_minor", name="net_is_amount_less_fee"),
    )

    transaction_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    reporting_category: Mapped[str] = mapped_column(String(64))
    source_id: Mapped[str | None] = mapped_column(String(255), index=True)  # the charge, refund, dispute, payout
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger)  # gross
    fee_minor: Mapped[int] = mapped_column(BigInteger)
    net_minor: Mapped[int] = mapped_column(BigInteger)
    fee_details: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    created: Mapped[datetime] = mapped_column(index=True)  # the provider's time
    available_on: Mapped[datetime | None]
    recorded_at: Mapped[datetime] = created_at_column()
