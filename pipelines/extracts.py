"""OLTP and provider extracts for reconciliation: journal lines, supports, disputes, payouts and their items
from PostgreSQL, and the provider's balance transactions (gross, fee, net) from the Stripe API or itemized
balance-change report CSVs.

Each extract replaces its warehouse table in one transaction (the sources are small and append-only;
a full copy is simpler than a watermark and cannot drift). The tables' shape is the warehouse port's
(`FINANCE_TABLES`): opening a warehouse creates them, and gives one made by an older version the columns added
since."""

from __future__ import annotations

import csv
import dataclasses
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg2

from api.payments.gateway import BalanceTransaction
from dashboards.money import exponent
from stores.warehouse import Warehouse
from stores.warehouse.port import FINANCE_TABLES

# Extract name → (PostgreSQL query, the warehouse table's columns: stores/warehouse/port.py).
OLTP_EXTRACTS: dict[str, tuple[str, dict[str, str]]] = {
    "journal_lines": (
        # A provider_fee entry carries the reporting category of the balance transaction whose fee it books.
        """
        select l.line_id, l.entry_id, e.entry_type, e.occurred_at, l.account_code, l.project_id, l.currency,
               l.amount_minor, e.support_id, e.dispute_id, e.payout_id, e.provider_object_id,
               e.provider_transaction_id, t.reporting_category
          from journal_lines l join journal_entries e using (entry_id)
          left join provider_balance_transactions t on t.transaction_id = e.provider_transaction_id
        """,
        FINANCE_TABLES["journal_lines"],
    ),
    "supports": (
        "select support_id, project_id, supporter_id, status, amount_minor, currency, succeeded_at, created_at, "
        "payment_intent_id, charge_id, refunded_minor from supports",
        FINANCE_TABLES["supports"],
    ),
    "disputes": (
        "select dispute_id, provider_dispute_id, support_id, project_id, status, amount_minor, currency, "
        "provider_created_at, closed_at from disputes",
        FINANCE_TABLES["disputes"],
    ),
    "payouts": (
        "select payout_id, project_id, currency, execution_date, settlement_target_date, status, amount_minor, "
        "withheld_minor, support_count, provider_payout_id, released_at, paid_at, failed_at from project_payouts",
        FINANCE_TABLES["payouts"],
    ),
    "payout_items": (
        "select payout_id, support_id, amount_minor from payout_items",
        FINANCE_TABLES["payout_items"],
    ),
}

PROVIDER_TRANSACTION_COLUMNS = FINANCE_TABLES["provider_balance_transactions"]  # Stripe's gross, fee, net


def _replace_table(warehouse: Warehouse, name: str, columns: dict[str, str], rows: Sequence[tuple[Any, ...]]) -> int:
    with warehouse.transaction():
        warehouse.run(f"delete from raw.{name}")  # noqa: S608 (fixed names)
        warehouse.load_rows(f"raw.{name}", columns, rows)
    return int(warehouse.scalar(f"select count(*) from raw.{name}"))  # noqa: S608 (fixed names)


def load_oltp_rows(warehouse: Warehouse, name: str, rows: Sequence[tuple[Any, ...]]) -> int:
    """Replace raw.<name> (an OLTP extract) with `rows`, a value per column of OLTP_EXTRACTS[name]."""
    return _replace_table(warehouse, name, OLTP_EXTRACTS[name][1], rows)


def extract_oltp(warehouse: Warehouse, dsn: str) -> dict[str, int]:
    """Copy each OLTP extract into raw.<name>; returns row counts."""
    counts = {}
    with psycopg2.connect(dsn) as source, source.cursor() as cursor:
        for name, (query, _) in OLTP_EXTRACTS.items():
            cursor.execute(query)
            rows = [tuple(str(value) if isinstance(value, uuid.UUID) else value for value in row) for row in cursor]
            counts[name] = load_oltp_rows(warehouse, name, rows)
    return counts


def minor_units(amount: str, currency: str) -> int:
    """A report's major-unit decimal amount as integer minor units (exactly, no floats)."""
    return int((Decimal(amount) * (10 ** exponent(currency))).to_integral_value())


def report_transactions(reports_dir: Path) -> list[BalanceTransaction]:
    """Rows of Stripe itemized balance-change reports (*.csv) in the reports directory."""
    found = []
    for path in sorted(reports_dir.glob("*.csv")) if reports_dir.exists() else []:
        with path.open(newline="", encoding="utf-8") as handle:
            for line, row in enumerate(csv.DictReader(handle), start=2):
                currency = row["currency"].upper()
                gross, fee = minor_units(row["gross"], currency), minor_units(row.get("fee") or "0", currency)
                if row.get("net") and minor_units(row["net"], currency) != gross - fee:
                    raise ValueError(f"{path.name}, line {line}: net is not gross - fee")
                found.append(
                    BalanceTransaction(
                        transaction_id=row["balance_transaction_id"],
                        amount_minor=gross,
                        currency=currency,
                        reporting_category=row["reporting_category"],
                        source=row.get("source_id") or None,
                        created=datetime.fromisoformat(row["created_utc"].replace(" ", "T")).replace(tzinfo=UTC),
                        fee_minor=fee,
                    )
                )
    return found


def load_provider_transactions(
    warehouse: Warehouse, transactions: Iterable[BalanceTransaction], provider_source: str
) -> int:
    rows = [
        (
            t.transaction_id,
            t.amount_minor,
            t.currency,
            t.reporting_category,
            t.source,
            t.created,
            provider_source,
            t.fee_minor,
            t.net_minor,
            [dataclasses.asdict(detail) for detail in t.fee_details],
            t.type,
        )
        for t in transactions
    ]
    return _replace_table(warehouse, "provider_balance_transactions", PROVIDER_TRANSACTION_COLUMNS, rows)
