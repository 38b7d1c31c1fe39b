"""The dead-letter alert: rate over the threshold, or a reason no run of the previous 7 days had."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipelines.checks import dead_letter_alert
from pipelines.ingestion import Audit
from stores import warehouse
from stores.warehouse import Warehouse, WarehouseAt

START = datetime(2026, 11, 28, 9, tzinfo=UTC)


def run(store: Warehouse, run_id: str, started_at: datetime, reasons: list[str], received: int = 1000) -> Audit:
    audit = Audit(run_id, "landing_files", received, received - len(reasons), 0, len(reasons), started_at, started_at)
    store.run(
        "insert into marts.ingestion_audit values (?, ?, ?, ?, ?, ?, ?, ?)",
        [run_id, audit.source, received, audit.accepted, 0, len(reasons), started_at, started_at],
    )
    for n, reason in enumerate(reasons):
        store.run(
            "insert into marts.dead_letter_events (dead_letter_id, run_id, source, source_ref, received_at, "
            "reason_code, errors, raw, raw_encoding) values (?, ?, ?, ?, ?, ?, '[]', '{', 'utf-8')",
            [f"{run_id}-{n}", run_id, audit.source, f"f.ndjson:{n}", started_at, reason],
        )
    return audit


def test_a_backlog_ingested_as_several_runs_alerts_a_new_reason_once(warehouse_at: WarehouseAt) -> None:
    with warehouse.open_warehouse(warehouse_at) as connection:
        run(connection, "old", START - timedelta(days=3), ["schema_violation"])
        first = run(connection, "r", START, ["stale_event"])
        second = run(connection, "r-1", START + timedelta(seconds=1), ["stale_event"])
        alert = dead_letter_alert(connection, first, threshold=0.01)
        assert alert is not None
        assert alert["new_reasons"] == ["stale_event"]
        assert dead_letter_alert(connection, second, threshold=0.01) is None  # seen in the run before


def test_a_reason_last_seen_over_7_days_ago_is_new_again(warehouse_at: WarehouseAt) -> None:
    with warehouse.open_warehouse(warehouse_at) as connection:
        run(connection, "long-ago", START - timedelta(days=8), ["stale_event"])
        recent = run(connection, "recent", START - timedelta(days=6), ["schema_violation"])
        now = run(connection, "now", START, ["stale_event", "schema_violation"])
        alert = dead_letter_alert(connection, now, threshold=0.01)
        assert alert is not None
        assert alert["new_reasons"] == ["stale_event"]
        assert dead_letter_alert(connection, recent, threshold=0.01) is not None  # nothing before it
