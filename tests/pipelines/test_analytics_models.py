"""The dbt asset in Dagster builds on the warehouse its resource names, on either engine, whatever the
environment's warehouse variables say (analytics.md)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from dagster import DagsterInstance, materialize
from dagster_dbt import DbtCliResource

from api.settings import load_settings
from pipelines.assets.analytics import analytics_models
from pipelines.project import DBT_EXECUTABLE, dbt_project
from pipelines.resources import PatronageConfig
from pipelines.warehouse import WarehouseAt, is_postgres, open_warehouse
from tests.analytics.event_stream import generate_events
from tests.analytics.test_marts_against_python import write_raw_events
from tests.analytics.test_targets_agree import add_finance_rows, copy_raw_to_postgres

UNREACHABLE = "postgresql://nobody@127.0.0.1:1/none"


@pytest.mark.slow
def test_the_dbt_asset_builds_on_the_warehouse_its_resource_names(
    warehouse_at: WarehouseAt, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = tmp_path / "fixture.duckdb"
    write_raw_events(raw, generate_events(3))
    add_finance_rows(raw)
    if is_postgres(warehouse_at):
        copy_raw_to_postgres(raw, str(warehouse_at))
    else:
        warehouse_at = raw
    elsewhere = tmp_path / "elsewhere"
    other_target = "duckdb" if is_postgres(warehouse_at) else "postgres"
    for name, value in {
        "PATRONAGE_DATA_DIR": str(elsewhere),
        "PATRONAGE_WAREHOUSE": str(elsewhere / "warehouse.duckdb"),
        "PATRONAGE_WAREHOUSE_URL": UNREACHABLE,
        "PATRONAGE_DBT_TARGET": other_target,
        "PATRONAGE_WAREHOUSE_PG_HOST": "127.0.0.1",
        "PATRONAGE_WAREHOUSE_PG_PORT": "1",
    }.items():
        monkeypatch.setenv(name, value)
    load_settings.cache_clear()  # anything that read the settings now would see the environment above
    patronage = PatronageConfig(
        warehouse=str(warehouse_at),
        landing_dir=str(tmp_path / "landing"),
        dead_letter_dir=str(tmp_path / "dead_letter"),
        oltp_database=UNREACHABLE,
        dashboards_dir=str(tmp_path / "dashboards"),
        provider_reports_dir=str(tmp_path / "provider_reports"),
    )
    try:
        result = materialize(
            [analytics_models],
            resources={
                "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE),
                "patronage": patronage,
            },
            instance=DagsterInstance.ephemeral(),
        )
    finally:
        load_settings.cache_clear()

    assert result.success
    with open_warehouse(warehouse_at, read_only=True) as store:
        assert store.scalar("select count(*) from marts.funnel_daily") > 0
    assert not elsewhere.exists()  # nothing went to the environment's warehouse
    assert os.environ["PATRONAGE_DBT_TARGET"] == other_target  # and the environment is as it was
