"""dbt on Spark (issue 20): the whole project (models, unit tests, data tests) builds on a lake through `dbt_build`,
its tables published into the lake's `_catalog.json` in one commit after dbt succeeded, and the marts equal DuckDB's
row for row, with the same column types, in Parquet files another reader opens."""

from __future__ import annotations

import json
import os
import shlex
import shutil
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance, materialize

from pipelines.assets.analytics import analytics_models
from pipelines.dbt_spark import BUILDS, build_directory, sweep_killed_builds
from pipelines.project import (
    DBT_EXECUTABLE,
    dbt_build,
    dbt_cli,
    dbt_executable,
    dbt_profile,
    dbt_profiles_dir,
)
from pipelines.resources import PatronageConfig
from stores.files import HOST
from stores.warehouse import EVENT_COLUMNS, WarehouseAt, open_warehouse, spark_adapter
from tests.analytics.corpus import marts_warehouse
from tests.analytics.marts import RUN_CLOCK, mart_rows, mart_tables

# A DuckDB column type (information_schema) and the Spark type the same mart column has.
SPARK_TYPE = {
    "BIGINT": "bigint",
    "INTEGER": "int",
    "DOUBLE": "double",
    "VARCHAR": "string",
    "JSON": "string",
    "DATE": "date",
    "TIMESTAMP WITH TIME ZONE": "timestamp",
    "BOOLEAN": "boolean",
}


def catalog(lake: Path) -> dict[str, str]:
    return dict(json.loads((lake / spark_adapter.CATALOG).read_text())["tables"])


def spark_columns(where: WarehouseAt, table: str) -> list[tuple[str, str]]:
    with open_warehouse(where) as store:
        assert isinstance(store, spark_adapter.SparkWarehouse)
        fields = store.session.table(table).schema.fields
    return [(field.name, field.dataType.simpleString()) for field in fields]


def duckdb_types(where: WarehouseAt) -> dict[tuple[str, str], str]:
    with open_warehouse(where, read_only=True) as store:
        found = store.rows(
            "select table_name, column_name, data_type from information_schema.columns where table_schema = 'marts'"
        )
    return {(table, column): kind for table, column, kind in found}


def test_the_profile_runs_dbt_in_the_entry_point_that_registers_the_lake() -> None:
    url = "spark://local?lake=/srv/lake&cores=2"
    assert dbt_profile(url) == {
        "patronage": {
            "target": "spark",
            "outputs": {"spark": {"type": "spark", "method": "session", "host": url, "schema": "main", "threads": 2}},
        }
    }
    with dbt_profiles_dir(url) as profiles:  # the asset's dbt on Spark: the entry point, on this lake
        script = dbt_executable(url, profiles)
        assert script == str(profiles / "dbt")
        assert os.access(script, os.X_OK)
        assert shlex.split(Path(script).read_text().splitlines()[1])[2:] == ["-m", "pipelines.dbt_spark", url, "$@"]
    with dbt_profiles_dir(Path("/srv/warehouse.duckdb")) as profiles:
        assert dbt_executable(Path("/srv/warehouse.duckdb"), profiles) == DBT_EXECUTABLE
        assert not (profiles / "dbt").exists()


def test_a_killed_build_s_directory_is_swept_by_the_next_build(tmp_path: Path) -> None:
    running = build_directory(tmp_path)  # this process's: alive
    killed = tmp_path / BUILDS / f"b-1-999999999@{HOST}-deadbeef"  # no such process here
    older = tmp_path / BUILDS / "b-1-999999998-deadbeef"  # named by an earlier version: this machine's
    elsewhere = tmp_path / BUILDS / "b-1-999999999@another-host-deadbeef"  # a driver on another machine, unseen
    for build in (running, killed, older, elsewhere):
        (build / "marts" / "kpi_daily").mkdir(parents=True)
    assert sweep_killed_builds(tmp_path) == sorted([killed, older])
    assert running.exists()
    assert elsewhere.exists()
    assert not killed.exists()


@pytest.mark.slow
def test_dbt_builds_on_spark_the_marts_duckdb_builds(
    spark_session: None, tmp_path_factory: pytest.TempPathFactory, admin_url: str, worker_id: str
) -> None:
    duck = marts_warehouse("duckdb", tmp_path_factory, admin_url, worker_id)
    spark = marts_warehouse("spark", tmp_path_factory, admin_url, worker_id)  # dbt_build passed: 309 nodes
    lake = spark_adapter.lake_of(str(spark))
    assert not any((lake / BUILDS).iterdir())  # the build's own directory is gone once published

    tables = mart_tables(duck)
    published = {name.split(".", 1)[1] for name in catalog(lake) if name.startswith("marts.")}
    assert published == set(tables)  # the thirteen dbt marts beside the ingestion's two
    kinds = duckdb_types(duck)
    for table, all_columns in tables.items():
        in_spark = spark_columns(spark, f"marts.{table}")
        assert [name for name, _ in in_spark] == [name for name, _ in all_columns], table
        assert in_spark == [(name, SPARK_TYPE[kinds[table, name]]) for name, _ in in_spark], table
        columns = [c for c in all_columns if c[0] not in RUN_CLOCK.get(table, set())]
        in_duck, on_spark = mart_rows(duck, table, columns), mart_rows(spark, table, columns)
        assert in_duck, f"{table} is empty: the corpus does not exercise it"
        assert on_spark == in_duck, f"{table} differs between DuckDB and Spark"

    # Plain Parquet another reader opens: DuckDB reads each mart's committed files, instants as UTC timestamps.
    reader = duckdb.connect()
    for table in tables:
        files = f"{lake}/marts/{table}/{catalog(lake)[f'marts.{table}']}/**/*.parquet"
        counted = reader.execute(f"select count(*) from read_parquet('{files}')").fetchall()  # noqa: S608 (our names)
        assert counted == [(len(mart_rows(spark, table, [tables[table][0]])),)], table
    schema = f"parquet_schema('{lake}/marts/*/s-*/*.parquet')"
    ((int96, instants),) = reader.execute(
        f"select count(*) filter (where type = 'INT96'), count(*) filter (where name = 'received_at') from {schema}"  # noqa: S608
    ).fetchall()
    assert (int96, bool(instants)) == (0, True)  # TIMESTAMP_MICROS, not Spark's legacy INT96


@pytest.mark.slow
def test_a_rebuild_publishes_its_tables_at_once_and_a_failed_one_nothing(
    spark_session: None, tmp_path_factory: pytest.TempPathFactory, admin_url: str, worker_id: str, tmp_path: Path
) -> None:
    built = spark_adapter.lake_of(str(marts_warehouse("spark", tmp_path_factory, admin_url, worker_id)))
    lake = tmp_path / "lake"
    shutil.copytree(built, lake)
    url = f"spark://local?lake={lake}&cores=2"
    before = catalog(lake)
    events = sorted(map(repr, mart_rows(url, "fct_events", [("event_id", False), ("event_name", False)])))

    # The Dagster dbt asset, as `patronage pipeline run` materializes it, in a fresh process: it rebuilds the tables
    # it selects (no managed location left from the first build) and publishes them.
    selected = [AssetKey(["staging", "stg_events"])] + [
        AssetKey(["intermediate", name]) for name in ("int_anonymous_ids_stitched", "int_events_stitched")
    ]
    patronage = PatronageConfig(
        warehouse=url,
        landing_dir=str(tmp_path / "landing"),
        dead_letter_dir=str(tmp_path / "dead_letter"),
        oltp_database="postgresql://unused/dbt-only",
        dashboards_dir=str(tmp_path / "dashboards"),
        provider_reports_dir=str(tmp_path / "provider_reports"),
    )
    result = materialize(
        [analytics_models],
        selection=[*selected, AssetKey(["marts", "fct_events"])],
        resources={
            "dbt": dbt_cli(),
            "patronage": patronage,
        },
        instance=DagsterInstance.ephemeral(),
    )
    assert result.success
    checked = [e for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    assert checked
    assert all(e.asset_check_evaluation_data.passed for e in checked)
    after = catalog(lake)
    changed = {name for name in after if after[name] != before[name]}
    assert changed == {
        "marts.fct_events",
        *(f"intermediate.{name}" for name in ("int_events_stitched", "int_anonymous_ids_stitched")),
    }
    assert sorted(map(repr, mart_rows(url, "fct_events", [("event_id", False), ("event_name", False)]))) == events
    assert not any((lake / BUILDS).iterdir())

    # An event accepted twice fails the source's unique test: dbt fails, and the lake's catalog does not move.
    with open_warehouse(url) as store:
        names = ", ".join(EVENT_COLUMNS)
        store.run(f"insert into raw.events ({names}) select {names} from raw.events limit 1")  # noqa: S608
    failed = dbt_build(url, tmp_path / "failed", ("+fct_events",), timeout=600)
    assert failed.returncode == 1, failed.stdout[-4000:]
    assert "source_unique_raw_events_event_id" in failed.stdout
    assert {name: snapshot for name, snapshot in catalog(lake).items() if name != "raw.events"} == {
        name: snapshot for name, snapshot in after.items() if name != "raw.events"
    }
    assert not any((lake / BUILDS).iterdir())  # the failed build's tables removed, not published
