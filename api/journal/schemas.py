"""Shapes of the journal, balances and reconciliation routes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

import msgspec

Category = Literal["charge", "refund", "dispute", "dispute_reversal", "payout"]
ReconStatus = Literal["matched", "mismatch", "missing_in_journal", "missing_in_provider"]


class JournalLineRead(msgspec.Struct):
    account_code: str
    project_id: uuid.UUID | None
    currency: str
    amount_minor: int


class JournalEntryRead(msgspec.Struct):
    entry_id: uuid.UUID
    entry_type: str
    occurred_at: datetime
    project_id: uuid.UUID | None
    support_id: uuid.UUID | None
    payout_id: uuid.UUID | None
    dispute_id: uuid.UUID | None
    provider_event_id: str | None
    provider_object_id: str | None
    lines: list[JournalLineRead]


class JournalPage(msgspec.Struct):
    items: list[JournalEntryRead]
    next_cursor: str | None


class Balance(msgspec.Struct):
    account_code: str
    project_id: uuid.UUID | None
    currency: str
    balance_minor: int


class CurrencyTotal(msgspec.Struct):
    currency: str
    total_minor: int


class Balances(msgspec.Struct):
    balances: list[Balance]
    totals: list[CurrencyTotal]


class ReconciliationRequest(msgspec.Struct, forbid_unknown_fields=True):
    from_date: date
    to_date: date


class ReconciliationRow(msgspec.Struct):
    recon_date: date
    currency: str
    category: Category
    journal_minor: int
    provider_minor: int
    difference_minor: int
    status: ReconStatus
    provider_transaction_ids: list[str]
    journal_entry_ids: list[str]


class ReconciliationCheckRead(msgspec.Struct):
    check_id: uuid.UUID
    from_date: date
    to_date: date
    created_at: datetime
    matched: bool
    results: list[ReconciliationRow]
