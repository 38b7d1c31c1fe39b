"""Dead-letter replay on Spark (issue 20): after a contract fix, the dead letters replayed on Spark rescue the same
events into raw.events as on DuckDB, mark the same records (the port's `mark`, copy on write on the lake), leave the
still-dead ones as they were, and a rerun rescues nothing twice; `patronage dead-letter replay` and `list` work on a
lake too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pipelines.replay import replay
from pipelines.runs import ingest_landing_files
from stores.warehouse import WarehouseAt, open_warehouse
from tests.conftest import JWT_SECRET, ROOT
from tests.pipelines.conftest import LocalRunStores, query
from tests.pipelines.events import line, refuse_app_open
from tests.pipelines.lakes import event, lake_url, land, stores

pytestmark = pytest.mark.slow

LETTER_COLUMNS = (
    "dead_letter_id, source_ref, reason_code, errors, event_id, event_name, raw, raw_encoding, received_at, run_id, "
    "replay_run_id, replayed_at"
)


def corpus() -> list[bytes]:
    """One event yesterday's contract accepted, and what it dead-lettered: two app_open events (one landed twice, the
    same bytes), an app_open reusing the accepted event's id (a conflict once it passes), and a line no contract
    accepts."""
    accepted = event(name="project_view")
    opened = [event(name="app_open"), event(name="app_open")]
    reusing = event(name="app_open", event_id=accepted["event_id"])
    return [line(accepted), line(opened[0]), line(opened[1]), line(opened[0]), line(reusing), b"{still broken"]


def ingest_with_a_buggy_contract(where: LocalRunStores, lines: list[bytes]) -> None:
    land(where, "in.ndjson", lines)
    with pytest.MonkeyPatch.context() as patch:
        refuse_app_open(patch)
        audit = ingest_landing_files(where, "run-1", workers=1)
    assert (audit.received, audit.accepted, audit.dead_lettered) == (6, 1, 5)


def letters(where: LocalRunStores) -> dict[str, dict[str, Any]]:
    """marts.dead_letter_events by dead_letter_id, JSON as documents."""
    names = [name.strip() for name in LETTER_COLUMNS.split(",")]
    found = query(where, f"select {LETTER_COLUMNS} from marts.dead_letter_events")  # noqa: S608
    rows = [dict(zip(names, row, strict=True)) for row in found]
    return {row["dead_letter_id"]: row | {"errors": json.loads(row["errors"])} for row in rows}


def replayed_on(warehouse: WarehouseAt, folder: Path, lines: list[bytes]) -> dict[str, Any]:
    """Replay twice after the fix; what the replays returned and left, and the instants they ran between."""
    where = stores(folder, warehouse)
    ingest_with_a_buggy_contract(where, lines)
    before = letters(where)
    files = {path: path.read_bytes() for path in Path(where.dead_letter_dir).rglob("date=*/*.ndjson")}
    started = datetime.now(UTC)
    with open_warehouse(where.warehouse) as store:
        first = replay(store, where.dead_letter_dir, "replay-1")
        again = replay(store, where.dead_letter_dir, "replay-2")
    finished = datetime.now(UTC)
    assert {path: path.read_bytes() for path in files} == files  # the records' files are never rewritten
    log = Path(where.dead_letter_dir) / "replays" / "replay-1.ndjson"
    return {
        "results": [(r.considered, r.rescued, r.duplicates, r.still_dead) for r in (first, again)],
        "events": sorted(query(where, "select event_id, source_ref, raw, run_id from raw.events")),
        "before": before,
        "after": letters(where),
        "log": sorted(json.loads(record)["dead_letter_id"] for record in log.read_text().splitlines()),
        "replays": sorted(path.name for path in log.parent.iterdir()),
        "window": (started, finished),
    }


def test_spark_replays_dead_letters_as_duckdb_does(spark_session: None, tmp_path: Path) -> None:
    lines = corpus()
    outcomes = {
        "duckdb": replayed_on(tmp_path / "duckdb" / "warehouse.duckdb", tmp_path / "duckdb", lines),
        "spark": replayed_on(lake_url(tmp_path / "spark"), tmp_path / "spark", lines),
    }
    for engine, outcome in outcomes.items():
        before, after = outcome["before"], outcome["after"]
        started, finished = outcome["window"]
        marked = {i for i, row in after.items() if row["replay_run_id"] is not None}
        assert outcome["log"] == sorted(marked), engine
        stamps = {after[i]["replayed_at"] for i in marked}
        assert len(stamps) == 1, engine  # one instant per replay
        assert started <= stamps.pop() <= finished, engine  # … in UTC: the same instant read back
        for dead_letter_id, row in after.items():
            changed = {column for column in row if row[column] != before[dead_letter_id][column]}
            assert changed == ({"replay_run_id", "replayed_at"} if dead_letter_id in marked else set()), engine

    spark, duckdb = ({**outcome, "window": None} for outcome in (outcomes["spark"], outcomes["duckdb"]))
    for outcome in (spark, duckdb):  # the instants differ by engine; whether a record has one does not
        for rows in (outcome["before"], outcome["after"]):
            for row in rows.values():
                row["replayed_at"] = row["replayed_at"] is not None
    assert spark == duckdb
    # … and both did what the corpus asks: the twice-landed event rescued once, the reused id still dead.
    assert spark["results"] == [(5, 2, 1, 2), (2, 0, 0, 2)]
    assert spark["replays"] == ["replay-1.ndjson"]  # a replay that rescued nothing logs nothing
    by_ref = {row["source_ref"]: row for row in spark["after"].values()}
    assert {ref: (row["reason_code"], row["replay_run_id"]) for ref, row in by_ref.items()} == {
        "in.ndjson:2": ("schema_violation", "replay-1"),
        "in.ndjson:3": ("schema_violation", "replay-1"),
        "in.ndjson:4": ("schema_violation", "replay-1"),  # a duplicate of line 2: marked, not stored twice
        "in.ndjson:5": ("schema_violation", None),  # rescued, it conflicts with the event of line 1
        "in.ndjson:6": ("malformed_json", None),
    }
    assert sorted((ref, run_id) for _, ref, _, run_id in spark["events"]) == [
        ("in.ndjson:1", "run-1"),
        ("in.ndjson:2", "replay-1"),
        ("in.ndjson:3", "replay-1"),
    ]


def test_the_dead_letter_cli_on_a_lake(spark_session: None, tmp_path: Path) -> None:
    where = stores(tmp_path, lake_url(tmp_path))
    ingest_with_a_buggy_contract(where, corpus())
    env = {
        **os.environ,
        "PATRONAGE_DATA_DIR": str(tmp_path / "data"),
        "PATRONAGE_WAREHOUSE_URL": str(where.warehouse),
        "PATRONAGE_DEAD_LETTER_DIR": str(where.dead_letter_dir),
        "PATRONAGE_JWT_SECRET": JWT_SECRET,
    }

    def cli(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "patronage.cli", "dead-letter", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    replayed = json.loads(cli("replay"))
    assert (replayed["considered"], replayed["rescued"], replayed["still_dead"]) == (5, 2, 2)
    listed = [row.split("  ") for row in cli("list").splitlines()]
    assert len(listed) == 5
    assert sum(1 for row in listed if row[-1]) == 3  # replayed_at, printed for the three records replay marked
