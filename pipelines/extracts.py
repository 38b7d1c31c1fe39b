"""OLTP and provider extracts for reconciliation: journal lines, supports and disputes from PostgreSQL,
and the provider's balance transactions from the Stripe API or itemized balance-change report CSVs.

Each extract replaces its warehouse table in one transaction (the sources are small and append-only;
a full copy is simpler than a watermark and cannot drift)."""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg2

from api.payments.gateway import BalanceTransaction
from stores.warehouse import Warehouse

# Extract name → (PostgreSQL query, warehouse columns with their types).
OLTP_EXTRACTS: dict[str, tuple[str, dict[str, str]]] = {
    "journal_lines": (
        """
        select l.line_id, l.entry_id, e.entry_type, e.occurred_at, l.account_code, l.project_id, l.currency,
               l.amount_minor, e.support_id, e.dispute_id, e.payout_id, e.provider_object_id
          from journal_lines l join journal_entries e using (entry_id)
        """,
        {
            "line_id": "bigint",
            "entry_id": "varchar",
            "entry_type": "varchar",
            "occurred_at": "timestamptz",
            "account_code": "varchar",
            "project_id": "varchar",
            "currency": "varchar",
            "amount_minor": "bigint",
            "support_id": "varchar",
            "dispute_id": "varchar",
            "payout_id": "varchar",
            "provider_object_id": "varchar",
        },
    ),
    "supports": (
        "select support_id, project_id, supporter_id, status, amount_minor, currency, succeeded_at, created_at "
        "from supports",
        {
            "support_id": "varchar",
            "project_id": "varchar",
            "supporter_id": "varchar",
            "status": "varchar",
            "amount_minor": "bigint",
            "currency": "varchar",
            "succeeded_at": "timestamptz",
            "created_at": "timestamptz",
        },
    ),
    "disputes": (
        "select dispute_id, provider_dispute_id, support_id, project_id, status, amount_minor, currency, "
        "provider_created_at, closed_at from disputes",
        {
            "dispute_id": "varchar",
            "provider_dispute_id": "varchar",
            "support_id": "varchar",
            "project_id": "varchar",
            "status": "varchar",
            "amount_minor": "bigint",
            "currency": "varchar",
            "provider_created_at": "timestamptz",
            "closed_at": "timestamptz",
        },
    ),
}

PROVIDER_COLUMNS = {
    "transaction_id": "varchar",
    "amount_minor": "bigint",
    "currency": "varchar",
    "reporting_category": "varchar",
    "source": "varchar",
    "created": "timestamptz",
    "provider_source": "varchar",
}
ZERO_DECIMAL = {
    "BIF",
    "CLP",
    "DJF",
    "GNF",
    "JPY",
    "KMF",
    "KRW",
    "MGA",
    "PYG",
    "RWF",
    "UGX",
    "VND",
    "VUV",
    "XAF",
    "XOF",
    "XPF",
}


def _replace_table(warehouse: Warehouse, name: str, columns: dict[str, str], rows: Sequence[tuple[Any, ...]]) -> int:
    with warehouse.transaction():
        warehouse.run(f"delete from raw.{name}")  # noqa: S608 (fixed names)
        warehouse.load_rows(f"raw.{name}", columns, rows)
    return int(warehouse.scalar(f"select count(*) from raw.{name}"))  # noqa: S608 (fixed names)


def extract_oltp(warehouse: Warehouse, dsn: str) -> dict[str, int]:
    """Copy each OLTP extract into raw.<name>; returns row counts."""
    counts = {}
    with psycopg2.connect(dsn) as source, source.cursor() as cursor:
        for name, (query, columns) in OLTP_EXTRACTS.items():
            cursor.execute(query)
            rows = [tuple(str(value) if isinstance(value, uuid.UUID) else value for value in row) for row in cursor]
            counts[name] = _replace_table(warehouse, name, columns, rows)
    return counts


def minor_units(amount: str, currency: str) -> int:
    """A report's major-unit decimal amount as integer minor units (exactly, no floats)."""
    exponent = 0 if currency.upper() in ZERO_DECIMAL else 2
    return int((Decimal(amount) * (10**exponent)).to_integral_value())


def report_transactions(reports_dir: Path) -> list[BalanceTransaction]:
    """Rows of Stripe itemized balance-change reports (*.csv) in the reports directory."""
    found = []
    for path in sorted(reports_dir.glob("*.csv")) if reports_dir.exists() else []:
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                currency = row["currency"].upper()
                found.append(
                    BalanceTransaction(
                        transaction_id=row["balance_transaction_id"],
                        amount_minor=minor_units(row["gross"], currency),
                        currency=currency,
                        reporting_category=row["reporting_category"],
                        source=row.get("source_id") or None,
                        created=datetime.fromisoformat(row["created_utc"].replace(" ", "T")).replace(tzinfo=UTC),
                    )
                )
    return found


def load_provider_transactions(
    warehouse: Warehouse, transactions: Iterable[BalanceTransaction], provider_source: str
) -> int:
    rows = [
        (t.transaction_id, t.amount_minor, t.currency, t.reporting_category, t.source, t.created, provider_source)
        for t in transactions
    ]
    return _replace_table(warehouse, "provider_balance_transactions", PROVIDER_COLUMNS, rows)
