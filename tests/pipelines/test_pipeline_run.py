"""`patronage pipeline run`: every asset materialized in-process, progress shown, failure is non-zero."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from stores.warehouse import WarehouseAt, is_postgres, open_warehouse
from tests.conftest import JWT_SECRET
from tests.pipelines.dbt_runner import warehouse_environment
from tests.pipelines.events import client_event, line


def environment(data_dir: Path, database_url: str, **more: str) -> dict[str, str]:
    return {
        **os.environ,
        "PATRONAGE_DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "PATRONAGE_JWT_SECRET": JWT_SECRET,
        **more,
    }


def pipeline_run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "patronage.cli", "pipeline", "run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
async def test_pipeline_run_ingests_both_sources_and_reruns_cleanly(
    client: object, tmp_path: Path, database_url: str, sql: asyncpg.Connection, warehouse_at: WarehouseAt
) -> None:
    """On either warehouse (`client` empties the OLTP tables afterwards)."""
    if not is_postgres(warehouse_at):
        warehouse_at = tmp_path / "warehouse.duckdb"  # the default place
    events = [client_event() for _ in range(3)]
    await sql.executemany(
        "insert into event_landing (source, raw) values ('client', $1)", [(line(e).decode(),) for e in events]
    )
    (tmp_path / "landing").mkdir()
    (tmp_path / "landing" / "batch.ndjson").write_bytes(line(client_event()) + b"\n{oops\n")
    env = environment(
        tmp_path, database_url, **(warehouse_environment(warehouse_at) if is_postgres(warehouse_at) else {})
    )

    first = pipeline_run(env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "pipeline run succeeded" in first.stdout
    assert "event_landing" in first.stdout
    assert "landing_files" in first.stdout
    # dbt's line per node and test goes to the run's log, not to the console
    (log,) = (tmp_path / "logs").glob("pipeline-*.log")
    assert f"full output: {log}" in first.stdout
    assert "START sql table model marts.funnel_daily" in log.read_text()
    assert "START sql" not in first.stdout + first.stderr
    second = pipeline_run(env)
    assert second.returncode == 0, second.stdout + second.stderr

    with open_warehouse(warehouse_at, read_only=True) as store:
        assert store.rows("select count(*) from raw.events") == [(4,)]
        assert store.rows("select count(*) from marts.dead_letter_events") == [(1,)]
        assert store.rows("select count(*) from marts.fct_events") == [(4,)]  # dbt built on the same warehouse
    assert (tmp_path / "warehouse.duckdb").exists() == (not is_postgres(warehouse_at))
    assert (tmp_path / "dashboards" / "index.html").exists()


@pytest.mark.slow
def test_a_failing_run_exits_non_zero(tmp_path: Path) -> None:
    result = pipeline_run(environment(tmp_path, "postgresql://nobody@127.0.0.1:1/none"))
    assert result.returncode == 1
    assert "pipeline run FAILED" in result.stdout
    assert "Connection refused" in result.stdout  # why, not only which step
    (log,) = (tmp_path / "logs").glob("pipeline-*.log")
    assert "Stack Trace:" in log.read_text()  # the whole story stays in the log


@pytest.mark.slow
def test_an_unreachable_warehouse_fails_the_run_and_writes_nothing(tmp_path: Path, database_url: str) -> None:
    (tmp_path / "landing").mkdir()
    (tmp_path / "landing" / "batch.ndjson").write_bytes(line(client_event()) + b"\n")
    result = pipeline_run(
        environment(tmp_path, database_url, PATRONAGE_WAREHOUSE_URL="postgresql://nobody@127.0.0.1:1/warehouse")
    )
    assert result.returncode == 1
    assert "pipeline run FAILED" in result.stdout
    assert "Connection refused" in result.stdout
    assert not (tmp_path / "warehouse.duckdb").exists()
    assert not (tmp_path / "dead_letter").exists()
