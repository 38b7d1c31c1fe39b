"""Provider balance transactions from Stripe's itemized balance-change report CSVs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipelines.extracts import minor_units, report_transactions

HEADER = "balance_transaction_id,created_utc,available_on_utc,currency,gross,fee,net,reporting_category,source_id"
REPORT = (
    HEADER
    + """,description
txn_1,2026-11-02 10:15:00,2026-11-04 00:00:00,eur,25.00,0.63,24.37,charge,ch_1,Support
txn_2,2026-11-02 11:00:00,2026-11-04 00:00:00,eur,-7.00,0.00,-7.00,refund,re_1,REFUND FOR CHARGE
txn_3,2026-11-03 09:00:00,2026-11-05 00:00:00,jpy,1200,0,1200,charge,ch_2,Support
"""
)


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [("25.00", "EUR", 2500), ("-7.00", "eur", -700), ("0.1", "USD", 10), ("1200", "JPY", 1200), ("19.99", "GBP", 1999)],
)
def test_report_amounts_become_exact_minor_units(amount: str, currency: str, expected: int) -> None:
    assert minor_units(amount, currency) == expected


def test_report_rows_are_read_from_every_csv(tmp_path: Path) -> None:
    (tmp_path / "2026-11.csv").write_text(REPORT)
    transactions = report_transactions(tmp_path)
    assert [(t.transaction_id, t.amount_minor, t.currency, t.reporting_category, t.source) for t in transactions] == [
        ("txn_1", 2500, "EUR", "charge", "ch_1"),
        ("txn_2", -700, "EUR", "refund", "re_1"),
        ("txn_3", 1200, "JPY", "charge", "ch_2"),
    ]
    assert transactions[0].created == datetime(2026, 11, 2, 10, 15, tzinfo=UTC)
    assert report_transactions(tmp_path / "missing") == []
