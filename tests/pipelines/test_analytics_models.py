"""The dbt asset in Dagster builds on the warehouse its resource names, on either engine, whatever the
environment's warehouse variables say (analytics.md)."""

from __future__ import annotations

import csv
import io
import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import psycopg2
import pytest
from dagster import DagsterInstance, materialize

from api.payments.gateway import BalanceTransaction
from api.settings import load_settings
from pipelines.assets import analytics
from pipelines.assets.analytics import analytics_models
from pipelines.extracts import OLTP_EXTRACTS, load_oltp_rows, load_provider_transactions
from pipelines.project import dbt_cli
from pipelines.resources import PatronageConfig
from stores import warehouse
from stores.warehouse import WarehouseAt, is_postgres, open_warehouse
from tests.analytics.event_stream import generate_events, write_raw_events

UNREACHABLE = "postgresql://nobody@127.0.0.1:1/none"
# The fixture's raw tables, copied as they are into a PostgreSQL warehouse.
RAW_TABLES = ("events", *OLTP_EXTRACTS, "provider_balance_transactions")
PG_TYPES = {
    "VARCHAR": "text",
    "JSON": "jsonb",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "BIGINT": "bigint",
    "DATE": "date",
}


def add_finance_rows(path: Path) -> None:
    """A matched charge, a refund only the journal has and a payout only the provider has (the finance tables in
    the shape the extracts give them)."""
    at = datetime(2026, 11, 2, 12, tzinfo=UTC)
    with warehouse.open_warehouse(path) as store:
        load_oltp_rows(
            store,
            "journal_lines",
            [
                (
                    1,
                    "e1",
                    "support_hold",
                    at,
                    "provider_balance",
                    None,
                    "EUR",
                    2_500,
                    None,
                    None,
                    None,
                    "ch_1",
                    None,
                    None,
                ),
                (
                    2,
                    "e1",
                    "support_hold",
                    at,
                    "creator_payable",
                    "p1",
                    "EUR",
                    -2_500,
                    None,
                    None,
                    None,
                    "ch_1",
                    None,
                    None,
                ),
                (3, "e2", "refund", at, "creator_payable", "p1", "EUR", 700, None, None, None, "re_1", None, None),
                (4, "e2", "refund", at, "provider_balance", None, "EUR", -700, None, None, None, "re_1", None, None),
            ],
        )
        load_provider_transactions(
            store,
            [
                BalanceTransaction("txn_1", 2_500, "EUR", "charge", "ch_1", at),
                BalanceTransaction("txn_2", -9_000, "EUR", "payout", "po_1", at),
            ],
            "test",
        )


def copy_raw_to_postgres(duck_path: Path, dsn: str) -> None:
    with duckdb.connect(str(duck_path), read_only=True) as duck, psycopg2.connect(dsn) as pg, pg.cursor() as cursor:
        cursor.execute("create schema if not exists raw")
        for table in RAW_TABLES:
            columns = duck.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = 'raw' and table_name = ? order by ordinal_position",
                [table],
            ).fetchall()
            ddl = ", ".join(f"{name} {PG_TYPES[kind]}" for name, kind in columns)
            cursor.execute(f"create table raw.{table} ({ddl})")
            buffer = io.StringIO()
            rows = duck.execute(f"select * from raw.{table}").fetchall()  # noqa: S608 (fixed names)
            writer = csv.writer(buffer)
            for row in rows:
                writer.writerow(["\\N" if value is None else value for value in row])
            buffer.seek(0)
            cursor.copy_expert(f"copy raw.{table} from stdin with (format csv, null '\\N')", buffer)


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
    # Builds' folders: two old ones beyond what is kept go, one beyond it but written a minute ago (a build that
    # may still be running) stays, as does this run's.
    builds = tmp_path / "builds"
    monkeypatch.setattr(analytics, "BUILDS", builds)
    monkeypatch.setattr(analytics, "BUILDS_KEPT", 1)
    for name, age in (
        ("analytics_models-old-1", 2 * 86_400),
        ("analytics_models-old-2", 7_200),
        ("analytics_models-busy", 60),
    ):
        (builds / name).mkdir(parents=True)
        os.utime(builds / name, (time.time() - age, time.time() - age))
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
                "dbt": dbt_cli(),
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
    (this_run,) = [folder.name for folder in builds.iterdir() if (folder / "manifest.json").exists()]
    ran = {
        result["unique_id"].split(".")[0]
        for result in json.loads((builds / this_run / "run_results.json").read_text())["results"]
    }
    assert ran == {"exposure", "model", "seed", "test"}  # data tests, not unit tests (they run with the code's tests)
    assert sorted(folder.name for folder in builds.iterdir()) == sorted(["analytics_models-busy", this_run])
    assert os.environ["PATRONAGE_DBT_TARGET"] == other_target  # and the environment is as it was
