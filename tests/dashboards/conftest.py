"""A warehouse whose every mart the dashboards read has rows: the funnel/KPI event stream, the guardrail
stream (one project with a hostile id), a landing file ingested for real (audit, dead letters) and
finance extracts with a match, a mismatch and both kinds of exception; then the whole dbt project."""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from api.payments.gateway import BalanceTransaction
from pipelines import warehouse
from pipelines.extracts import load_provider_transactions
from pipelines.project import dbt_build
from pipelines.runs import ingest_landing_files
from tests.analytics.event_stream import generate_events
from tests.analytics.test_marts_against_python import write_raw_events as write_funnel_events
from tests.guardrail.test_guardrail_against_python import synthetic_events
from tests.guardrail.test_guardrail_against_python import write_raw_events as write_guardrail_events
from tests.pipelines.conftest import LocalLocations
from tests.pipelines.events import client_event, line

HOSTILE_PROJECT = "<script>window.__injected = 1</script>&\"'"
SEED = 20261127


def ingest_a_landing_file(where: LocalLocations) -> None:
    """Three good events (one sent twice), a broken line and an unknown event, through the real ingestion."""
    moment = datetime(2026, 11, 5, 12, tzinfo=UTC)
    good = [client_event(occurred_at=moment) for _ in range(3)]
    lines = [*map(line, good), line(good[0]), b"{broken", line(client_event(occurred_at=moment) | {"event_name": "x"})]
    landing_file = where.landing_dir / "day.ndjson"
    landing_file.write_bytes(b"\n".join(lines) + b"\n")
    os.utime(landing_file, (moment.timestamp() + 60, moment.timestamp() + 60))
    ingest_landing_files(where, "dashboards-test-run")


def load_finance(path: Path) -> None:
    """2026-11-02 EUR charges: ch_both on both sides, ch_journal_only and ch_provider_only on one (mismatch);
    2026-11-03 USD: matched; 2026-11-04 EUR: a refund only in the journal, a payout only at the provider."""
    entries = [
        ("e1", "support_hold", "2026-11-02 10:00", "EUR", 2_500, "ch_both"),
        ("e2", "support_hold", "2026-11-02 11:00", "EUR", 3_000, "ch_journal_only"),
        ("e3", "support_hold", "2026-11-03 09:00", "USD", 1_000, "ch_usd"),
        ("e4", "refund", "2026-11-04 08:00", "EUR", -500, "re_journal_only"),
    ]
    lines = []
    for number, (entry, kind, at, currency, amount, provider_object) in enumerate(entries):
        for offset, (account, signed) in enumerate((("provider_balance", amount), ("creator_payable", -amount))):
            lines.append((2 * number + offset, entry, kind, at, account, currency, signed, provider_object))
    on = datetime.fromisoformat
    transactions = [
        BalanceTransaction("txn_both", 2_500, "EUR", "charge", "ch_both", on("2026-11-02T10:00:05+00:00")),
        BalanceTransaction("txn_provider_only", 900, "EUR", "charge", "ch_provider_only", on("2026-11-02T12:00+00:00")),
        BalanceTransaction("txn_usd", 1_000, "USD", "charge", "ch_usd", on("2026-11-03T09:00:05+00:00")),
        BalanceTransaction("txn_payout", -2_000, "EUR", "payout", "po_provider_only", on("2026-11-04T09:00+00:00")),
    ]
    with warehouse.connect(path) as connection:
        connection.executemany(
            "insert into raw.journal_lines (line_id, entry_id, entry_type, occurred_at, account_code, currency,"
            " amount_minor, provider_object_id) values (?, ?, ?, cast(? || ':00+00' as timestamptz), ?, ?, ?, ?)",
            lines,
        )
    with warehouse.open_warehouse(path) as store:
        load_provider_transactions(store, transactions, "stripe_api")


@pytest.fixture(scope="session")
def marts_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    scratch = tmp_path_factory.mktemp("dashboards-warehouse")
    path = scratch / "warehouse.duckdb"
    where = LocalLocations(path, scratch / "dead_letter", scratch / "landing", oltp_dsn="")
    where.landing_dir.mkdir()
    ingest_a_landing_file(where)
    write_funnel_events(path, generate_events(SEED))
    guardrail = [
        dataclasses.replace(e, project_id=HOSTILE_PROJECT) if e.project_id == "project-edge" else e
        for e in synthetic_events(SEED + 1, projects=2)  # another seed: other event ids
    ]
    write_guardrail_events(path, guardrail, scratch)
    load_finance(path)
    result = dbt_build({"PATRONAGE_WAREHOUSE": str(path), "PATRONAGE_DBT_TARGET": "duckdb"}, scratch)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    return path
