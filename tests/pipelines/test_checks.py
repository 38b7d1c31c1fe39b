"""The dead-letter alert: rate over the threshold, or a reason no run of the previous 7 days had; and how a run
reports a failed check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from dagster import DagsterInstance, Definitions, materialize

from pipelines.assets.ingestion import landing_file_events, landing_table_events
from pipelines.checks import dead_letter_alert
from pipelines.cli import failed_check_lines
from pipelines.ingestion import Audit
from pipelines.resources import OpsAlerts
from stores import warehouse
from stores.warehouse import Warehouse, WarehouseAt
from tests.pipelines.conftest import LocalRunStores, NotificationQueue
from tests.pipelines.events import client_event, line

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


def test_the_run_summary_names_each_failed_check_with_its_reason(
    where: LocalRunStores, tmp_path: Path, notification_queue: NotificationQueue
) -> None:
    """`patronage pipeline run` prints one line per failed check: asset, check, severity, why, what it checks."""
    (where.landing_dir / "day.ndjson").write_bytes(line(client_event()) + b"\n" + line(client_event()) + b"\n{no\n")
    patronage = where.config(tmp_path, dead_letter_alert_rate=0.25, ingest_workers=1)
    assets = [landing_table_events, landing_file_events]
    result = materialize(
        assets,
        resources={"patronage": patronage, "ops_alerts": OpsAlerts(dev_sink=str(tmp_path / "ops.jsonl"))},
        instance=DagsterInstance.ephemeral(),
    )

    (shown,) = failed_check_lines(result.all_events, Definitions(assets=assets))
    assert shown.startswith("failed check landing_file_events dead_letter_rate (warn): landing_files: ")
    assert "1 of 3 events dead-lettered (33.33%, threshold 25.00%); top reason malformed_json" in shown
    assert shown.endswith("; checks: dead-letter rate under PATRONAGE_DEAD_LETTER_ALERT_RATE and no new reason")
    assert "\n" not in shown
    (alert,) = notification_queue.queued()  # the reason printed is the alert ops were sent
    assert alert["payload"]["summary"] in shown
