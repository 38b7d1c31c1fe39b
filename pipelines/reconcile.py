"""Finance's reports from the reconciliation marts for a range of days (`patronage reconcile`).

Five reports, each a mart filtered on its day column: the daily comparison (gross, fee, net per category), its
exceptions, the balance roll-forward, and payout reconciliation (per payout and per support it settles). A CSV
keeps every amount in exact minor units and puts the major-unit amount beside it (`journal_minor`, `journal`),
with the row's currency; the terminal shows major units only.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from dashboards.money import major_units
from stores.warehouse import Warehouse

# mart → (the day column the range applies to, its rows' order)
REPORTS: dict[str, tuple[str, str]] = {
    "reconciliation_daily": ("recon_date", "recon_date, currency, category"),
    "reconciliation_exceptions": (
        "recon_date",
        "recon_date, currency, category, exception_type, provider_object_id, provider_transaction_id, journal_entry_id",
    ),
    "reconciliation_balance_rollforward": ("balance_date", "balance_date, currency"),
    "reconciliation_payouts": ("execution_date", "execution_date, currency, project_id, payout_id"),
    "reconciliation_payout_items": ("execution_date", "execution_date, currency, payout_id, support_id"),
}
MINOR = "_minor"


@dataclass(frozen=True)
class Report:
    columns: list[str]
    rows: list[tuple[Any, ...]]


def missing_marts(store: Warehouse) -> list[str]:
    return [name for name in REPORTS if not store.table_exists("marts", name)]


def read_reports(store: Warehouse, first: date, last: date) -> dict[str, Report]:
    """Each report's rows whose day is in [first, last]."""
    reports = {}
    for name, (day, order) in REPORTS.items():
        columns, rows = store.columns_and_rows(
            f"select * from marts.{name} where {day} between ? and ? order by {order}",  # noqa: S608 (fixed names)
            [first, last],
        )
        reports[name] = Report(columns, rows)
    return reports


def with_major_units(report: Report) -> Report:
    """Every `<amount>_minor` column followed by `<amount>`: the same amount in major units of the row's currency."""
    currency = report.columns.index("currency")
    columns: list[str] = []
    for column in report.columns:
        columns += [column, column.removesuffix(MINOR)] if column.endswith(MINOR) else [column]
    rows = []
    for row in report.rows:
        cells: list[Any] = []
        for column, value in zip(report.columns, row, strict=True):
            cells += [value, major_units(value, row[currency])] if column.endswith(MINOR) else [value]
        rows.append(tuple(cells))
    return Report(columns, rows)


def in_major_units(report: Report) -> Report:
    """Major units only, named without `_minor`: what a person reads."""
    full = with_major_units(report)
    keep = [i for i, column in enumerate(full.columns) if not column.endswith(MINOR)]
    return Report([full.columns[i] for i in keep], [tuple(row[i] for i in keep) for row in full.rows])


def write_csv(folder: Path, reports: dict[str, Report]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, report in reports.items():
        path = folder / f"{name}.csv"
        full = with_major_units(report)
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(full.columns)
            writer.writerows(["" if value is None else value for value in row] for row in full.rows)
        written.append(path)
    return written


def _text(value: object) -> str:
    return "" if value is None else str(value)


def table_lines(report: Report) -> list[str]:
    """A report as aligned text columns, major units."""
    shown = in_major_units(report)
    cells = [shown.columns, *([_text(v) for v in row] for row in shown.rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(shown.columns))]
    return [
        "  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in cells
    ]


ROLLFORWARD_PARTS = ("charge", "refund", "dispute", "dispute_reversal", "fee", "other", "payout")


def rollforward_lines(report: Report) -> list[str]:
    """Each day and currency as its identity on both sides: opening + movements = closing."""
    lines = []
    for values in report.rows:
        row = dict(zip(report.columns, values, strict=True))
        currency = row["currency"]
        lines.append(f"  {row['balance_date']} {currency}  {row['status']}")
        for side in ("journal", "provider"):
            parts = [
                f"{part} {major_units(row[f'{side}_{part}_minor'], currency)}"
                for part in ROLLFORWARD_PARTS
                if f"{side}_{part}_minor" in row
            ]
            opening, closing = (major_units(row[f"{side}_{edge}_minor"], currency) for edge in ("opening", "closing"))
            lines.append(f"    {side:<8}  opening {opening} + {' + '.join(parts)} = closing {closing}")
    return lines


def report_lines(reports: dict[str, Report]) -> list[str]:
    """The reports as the terminal shows them."""
    lines = []
    for name, report in reports.items():
        lines.append(f"{name} ({len(report.rows)} rows)")
        if report.rows:
            lines += rollforward_lines(report) if name == "reconciliation_balance_rollforward" else table_lines(report)
    return lines
