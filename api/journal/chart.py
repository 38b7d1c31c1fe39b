"""The chart of accounts: which accounts each entry type debits and credits (api.md, "Journal"), and the
`Cause` every entry answers for: the journal's vocabulary, below both its services and its repositories.

One table, so the whole double-entry behaviour is visible on one screen. Amounts are integer minor
units; a debit is positive and a credit negative, so every entry sums to zero per currency.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Account = Literal["provider_balance", "creator_payable", "disputed_funds", "dispute_loss_expense", "provider_fee"]
# api.md's entry types, and the provider's fee of one balance transaction (api.md, "Additions (2026-12-03)").
EntryType = Literal[
    "support_hold", "payout_release", "refund", "dispute_open", "dispute_close", "loss_booking", "provider_fee"
]
Posting = Literal[
    "support_hold",
    "payout_release",
    "refund",
    "dispute_open",
    "dispute_close_won",
    "dispute_close_lost",
    "loss_booking",
    "provider_fee",
    "provider_fee_refund",
]

# posting → (entry_type, debit account, credit account)
CHART: dict[Posting, tuple[EntryType, Account, Account]] = {
    "support_hold": ("support_hold", "provider_balance", "creator_payable"),
    "payout_release": ("payout_release", "creator_payable", "provider_balance"),
    "refund": ("refund", "creator_payable", "provider_balance"),
    "dispute_open": ("dispute_open", "disputed_funds", "provider_balance"),
    "dispute_close_won": ("dispute_close", "provider_balance", "disputed_funds"),
    "dispute_close_lost": ("dispute_close", "creator_payable", "disputed_funds"),
    "loss_booking": ("loss_booking", "dispute_loss_expense", "creator_payable"),
    # A balance transaction's fee leaves the provider balance; a negative fee (one the provider gives back) returns.
    "provider_fee": ("provider_fee", "provider_fee", "provider_balance"),
    "provider_fee_refund": ("provider_fee", "provider_balance", "provider_fee"),
}

# Accounts kept per project (the others are platform-wide).
PROJECT_ACCOUNTS: frozenset[Account] = frozenset({"creator_payable"})


@dataclass(frozen=True)
class Cause:
    """What an entry answers for; `key` makes posting idempotent."""

    key: str
    occurred_at: datetime
    project_id: uuid.UUID | None = None
    support_id: uuid.UUID | None = None
    payout_id: uuid.UUID | None = None
    dispute_id: uuid.UUID | None = None
    provider_event_id: str | None = None
    provider_object_id: str | None = None
    provider_transaction_id: str | None = None
