"""`patronage pipeline run`: every asset materialized in-process, progress shown, failure is non-zero."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import duckdb
import pytest

from tests.conftest import JWT_SECRET
from tests.pipelines.events import client_event, line


def pipeline_run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", "pipeline", "run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
async def test_pipeline_run_ingests_both_sources_and_reruns_cleanly(
    client: object, tmp_path: Path, database_url: str, sql: asyncpg.Connection
) -> None:
    """(`client` empties the OLTP tables afterwards.)"""
    events = [client_event() for _ in range(3)]
    await sql.executemany(
        "insert into event_landing (source, raw) values ('client', $1)", [(line(e).decode(),) for e in events]
    )
    (tmp_path / "landing").mkdir()
    (tmp_path / "landing" / "batch.ndjson").write_bytes(line(client_event()) + b"\n{oops\n")
    env = {
        **os.environ,
        "PATRONAGE_DATA_DIR": str(tmp_path),
        "DATABASE_URL": database_url,
        "PATRONAGE_JWT_SECRET": JWT_SECRET,
    }

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

    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as connection:
        assert connection.execute("select count(*) from raw.events").fetchone() == (4,)
        assert connection.execute("select count(*) from marts.dead_letter_events").fetchone() == (1,)


@pytest.mark.slow
def test_a_failing_run_exits_non_zero(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PATRONAGE_DATA_DIR": str(tmp_path),
        "PATRONAGE_JWT_SECRET": JWT_SECRET,
        "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
    }
    result = pipeline_run(env)
    assert result.returncode == 1
    assert "pipeline run FAILED" in result.stdout
    assert "Connection refused" in result.stdout  # why, not only which step
    (log,) = (tmp_path / "logs").glob("pipeline-*.log")
    assert "Stack Trace:" in log.read_text()  # the whole story stays in the log
