"""Dagster on several machines, chosen by settings alone: PATRONAGE_DAGSTER_EXECUTOR picks every job's executor, and
PATRONAGE_DAGSTER_STORAGE_URL puts the instance's runs and event logs in PostgreSQL (dagster.yaml names the variable,
never its value). A multiprocess run on DuckDB runs its steps one at a time; on PostgreSQL independent steps overlap."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest
from dagster import DagsterInstance, DagsterRunStatus, in_process_executor, multiprocess_executor
from dagster_postgres import PostgresRunStorage

from api.settings import ConfigError, Settings, settings_from
from pipelines.cli import prepare_dagster_home
from pipelines.definitions import definitions_with, executor_for, resources_for
from stores.warehouse import WarehouseAt, is_postgres, open_warehouse
from tests.conftest import JWT_SECRET, _dsn, recreate_database
from tests.pipelines.dbt_runner import warehouse_environment
from tests.pipelines.events import client_event, line

UNREACHABLE = "postgresql://nobody@127.0.0.1:1/none"
STORAGE = "postgresql+psycopg2://dagster:s3cret@runs.internal:5432/dagster"
JOBS = ("ingestion_job", "analytics_job", "dead_letter_replay_job")
# Four steps, three of them independent (dbt's build would add a minute and no step that could overlap)
SELECTED = "group:ingestion or group:extracts"


def settings_with(data_dir: Path, **env: str) -> Settings:
    """Settings on a named OLTP server (so nothing starts an embedded one), plus `env`."""
    return settings_from(
        {"PATRONAGE_DATA_DIR": str(data_dir), "PATRONAGE_JWT_SECRET": JWT_SECRET, "DATABASE_URL": UNREACHABLE, **env}
    )


def executors(settings: Settings) -> set[str]:
    loaded = definitions_with(resources_for(settings), executor_for(settings))
    return {loaded.resolve_job_def(job).executor_def.name for job in JOBS}


def test_every_job_runs_on_the_executor_the_setting_names(tmp_path: Path) -> None:
    assert executors(settings_with(tmp_path)) == {in_process_executor.name}
    duckdb = settings_with(tmp_path, PATRONAGE_DAGSTER_EXECUTOR="multiprocess")
    assert executors(duckdb) == {"multiprocess_one_step_at_a_time"}
    assert executor_for(duckdb).executor_creation_fn is multiprocess_executor.executor_creation_fn
    postgres = settings_with(
        tmp_path, PATRONAGE_DAGSTER_EXECUTOR="multiprocess", PATRONAGE_WAREHOUSE_URL="postgresql://etl@wh/marts"
    )
    assert executors(postgres) == {multiprocess_executor.name}
    spark = settings_with(tmp_path, PATRONAGE_DAGSTER_EXECUTOR="multiprocess", PATRONAGE_WAREHOUSE_URL="spark://local")
    assert executors(spark) == {multiprocess_executor.name}

    with pytest.raises(ConfigError, match="PATRONAGE_DAGSTER_EXECUTOR must be one of in_process, multiprocess"):
        settings_with(tmp_path, PATRONAGE_DAGSTER_EXECUTOR="celery")
    for wrong in ("sqlite:///runs.db", "postgresql://dagster@runs.internal/dagster"):  # the latter wants psycopg 3
        with pytest.raises(ConfigError, match="PATRONAGE_DAGSTER_STORAGE_URL must be a URL with scheme postgresql"):
            settings_with(tmp_path, PATRONAGE_DAGSTER_STORAGE_URL=wrong)


def test_the_instance_file_names_the_storage_variable_never_its_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    instance = tmp_path / "dagster" / "dagster.yaml"
    instance.parent.mkdir()
    instance.write_text("telemetry:\n  enabled: false\n")  # what earlier versions wrote

    monkeypatch.setenv("PATRONAGE_DAGSTER_STORAGE_URL", STORAGE)
    assert prepare_dagster_home(settings_with(tmp_path, PATRONAGE_DAGSTER_STORAGE_URL=STORAGE)) == instance.parent
    written = instance.read_text()
    assert "postgres:\n    postgres_url:\n      env: PATRONAGE_DAGSTER_STORAGE_URL\n" in written
    assert "s3cret" not in written
    assert "runs.internal" not in written
    assert "telemetry:\n  enabled: false" in written

    # The setting removed: back to Dagster's default storage (SQLite beside the file).
    prepare_dagster_home(settings_with(tmp_path))
    assert "storage" not in instance.read_text()
    assert "telemetry:\n  enabled: false" in instance.read_text()

    # Only in .env, the variable would not reach Dagster's processes: said at once, rather than at the first run.
    monkeypatch.delenv("PATRONAGE_DAGSTER_STORAGE_URL")
    with pytest.raises(ConfigError, match=r"must be in the environment, not only in \.env"):
        prepare_dagster_home(settings_with(tmp_path, PATRONAGE_DAGSTER_STORAGE_URL=STORAGE))

    # A file written by hand is the operator's: kept as it is.
    instance.write_text("telemetry:\n  enabled: true\n")
    monkeypatch.setenv("PATRONAGE_DAGSTER_STORAGE_URL", STORAGE)
    prepare_dagster_home(settings_with(tmp_path, PATRONAGE_DAGSTER_STORAGE_URL=STORAGE))
    assert instance.read_text() == "telemetry:\n  enabled: true\n"


@pytest.fixture
def run_storage_url(admin_url: str, worker_id: str) -> str:
    """A fresh PostgreSQL database for Dagster's runs, event logs and schedules, as PATRONAGE_DAGSTER_STORAGE_URL."""
    prefix = os.environ.get("PATRONAGE_TEST_DB_PREFIX", "patronage_test")
    url = _dsn(asyncio.run(recreate_database(admin_url, f"{prefix}_dagster_{worker_id}")))
    return url.replace("postgresql://", "postgresql+psycopg2://", 1)


def step_spans(instance: DagsterInstance, run_id: str) -> dict[str, tuple[int, int]]:
    """Each step's span in the run's event log: from its process's launch to its success (storage order)."""
    spans: dict[str, list[int]] = {}
    for position, entry in enumerate(instance.all_logs(run_id)):
        event = entry.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type_value == "STEP_WORKER_STARTING":
            spans[event.step_key] = [position, -1]
        elif event.event_type_value == "STEP_SUCCESS":
            spans[event.step_key][1] = position
    return {step: (start, end) for step, (start, end) in spans.items()}


def overlap(first: tuple[int, int], second: tuple[int, int]) -> bool:
    return first[0] < second[1] and second[0] < first[1]


@pytest.mark.slow
def test_a_multiprocess_run_on_postgres_run_storage(
    tmp_path: Path,
    database_url: str,
    warehouse_at: WarehouseAt,
    run_storage_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The ingestion and the extracts, as Dagster's CLI runs them, each step in a process of its own; the run recorded
    in PostgreSQL."""
    if not is_postgres(warehouse_at):
        warehouse_at = tmp_path / "warehouse.duckdb"  # the default place
    (tmp_path / "landing").mkdir()
    (tmp_path / "landing" / "day.ndjson").write_bytes(b"".join(line(client_event()) + b"\n" for _ in range(4)))
    environment = {
        "PATRONAGE_DATA_DIR": str(tmp_path),
        "PATRONAGE_JWT_SECRET": JWT_SECRET,
        "DATABASE_URL": database_url,
        "PATRONAGE_DAGSTER_EXECUTOR": "multiprocess",
        "PATRONAGE_DAGSTER_STORAGE_URL": run_storage_url,
        **warehouse_environment(warehouse_at),
    }
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("PATRONAGE_DAGSTER_STORAGE_URL", run_storage_url)
    home = prepare_dagster_home(settings_from(environment))

    run = subprocess.run(
        [sys.executable, "-m", "dagster", "asset", "materialize", "-m", "pipelines.definitions", "--select", SELECTED],
        env={**os.environ, **environment, "DAGSTER_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert run.returncode == 0, (run.stdout + run.stderr)[-6000:]

    with DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        (record,) = instance.get_runs()
        assert record.status == DagsterRunStatus.SUCCESS
        spans = step_spans(instance, record.run_id)
    with psycopg2.connect(run_storage_url.replace("+psycopg2", "", 1)) as connection, connection.cursor() as cursor:
        cursor.execute("select run_id, status from runs")
        assert cursor.fetchall() == [(record.run_id, "SUCCESS")]
        cursor.execute("select count(*) from event_logs where run_id = %s", [record.run_id])
        (events,) = cursor.fetchone() or (0,)
        assert events > 0

    assert set(spans) == {
        "landing_table_events",
        "landing_file_events",  # after the table's: a dependency
        "oltp_extracts",
        "raw__provider_balance_transactions",
    }
    assert all(end > start for start, end in spans.values()), spans
    pairs = [(a, b) for a in spans for b in spans if a < b and overlap(spans[a], spans[b])]
    if is_postgres(warehouse_at) and multiprocessing.cpu_count() > 1:  # the executor runs one step per core at once
        assert pairs, spans
    else:  # one DuckDB file: each step's process is launched after the previous one succeeded
        assert pairs == [], spans
    with open_warehouse(warehouse_at, read_only=True) as store:
        assert store.rows("select count(*) from raw.events") == [(4,)]
        assert store.table_exists("raw", "journal_lines")
