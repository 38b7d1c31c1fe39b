"""The comparison behind a reconciliation check: the provider transactions and journal entries that explain a row."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from api.journal.reconciliation import compare
from api.payments.gateway import BalanceTransaction

DAY = date(2026, 11, 2)


def tx(transaction_id: str, amount: int, source: str | None) -> BalanceTransaction:
    return BalanceTransaction(transaction_id, amount, "EUR", "charge", source, datetime(2026, 11, 2, 9, tzinfo=UTC))


def test_the_same_charge_with_different_amounts_is_named_on_both_sides() -> None:
    agreed, differs = uuid.uuid4(), uuid.uuid4()
    journal: list[tuple[date, str, str, uuid.UUID, str | None, int]] = [
        (DAY, "EUR", "charge", agreed, "ch_1", 1_000),
        (DAY, "EUR", "charge", differs, "ch_2", 1_000),
    ]
    (row,) = compare(journal, [tx("txn_1", 1_000, "ch_1"), tx("txn_2", 900, "ch_2")])
    assert (row.status, row.difference_minor) == ("mismatch", 100)
    assert row.provider_transaction_ids == ["txn_2"]
    assert row.journal_entry_ids == [str(differs)]


def test_objects_on_one_side_only_are_named_and_a_match_names_nothing() -> None:
    entry = uuid.uuid4()
    (row,) = compare([(DAY, "EUR", "charge", entry, "ch_1", 1_000)], [tx("txn_9", 500, "ch_9")])
    assert (row.provider_transaction_ids, row.journal_entry_ids) == (["txn_9"], [str(entry)])
    (row,) = compare([(DAY, "EUR", "charge", entry, "ch_1", 1_000)], [tx("txn_1", 1_000, "ch_1")])
    assert (row.status, row.provider_transaction_ids, row.journal_entry_ids) == ("matched", [], [])
