"""The dbt asset in Dagster builds on PostgreSQL when PATRONAGE_WAREHOUSE_URL is set (analytics.md)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import psycopg2
import pytest
from dagster import DagsterInstance, materialize
from dagster_dbt import DbtCliResource

from api.settings import load_settings
from pipelines.assets.analytics import analytics_models
from pipelines.project import DBT_EXECUTABLE, dbt_project
from pipelines.resources import PatronageConfig
from tests.analytics.event_stream import generate_events
from tests.analytics.test_marts_against_python import write_raw_events
from tests.analytics.test_targets_agree import add_finance_rows, copy_raw_to_postgres
from tests.conftest import JWT_SECRET, _dsn, recreate_database


@pytest.mark.slow
def test_the_dbt_asset_builds_on_the_postgresql_of_the_warehouse_url(
    admin_url: str, worker_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = tmp_path / "fixture.duckdb"
    write_raw_events(raw, generate_events(3))
    add_finance_rows(raw)
    prefix = os.environ.get("PATRONAGE_TEST_DB_PREFIX", "patronage")
    url = _dsn(asyncio.run(recreate_database(admin_url, f"{prefix}_dagster_warehouse_{worker_id}")))
    copy_raw_to_postgres(raw, url)
    for name in ("PATRONAGE_DBT_TARGET", "PATRONAGE_WAREHOUSE", *(k for k in os.environ if "_WAREHOUSE_PG_" in k)):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATRONAGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PATRONAGE_JWT_SECRET", JWT_SECRET)
    monkeypatch.setenv("PATRONAGE_WAREHOUSE_URL", url)  # the only warehouse variable set
    load_settings.cache_clear()
    try:
        result = materialize(
            [analytics_models],
            resources={
                "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE),
                "patronage": PatronageConfig(),
            },
            instance=DagsterInstance.ephemeral(),
        )
    finally:
        load_settings.cache_clear()

    assert result.success
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("select count(*) from marts.funnel_daily")
        assert cursor.fetchone()[0] > 0  # type: ignore[index]
    assert not (tmp_path / "data" / "warehouse.duckdb").exists()  # nothing went to the DuckDB default
    assert "PATRONAGE_DBT_TARGET" not in os.environ  # the asset's variables do not outlive the build
