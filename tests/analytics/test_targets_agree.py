"""Same SQL on both targets: the whole dbt project built on DuckDB and on PostgreSQL from the same
fixture data gives equal marts."""

from __future__ import annotations

import asyncio
import csv
import io
import math
import os
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import psycopg2
import pytest

from pipelines import warehouse
from pipelines.project import dbt_build as build
from tests.analytics.event_stream import generate_events
from tests.analytics.test_marts_against_python import write_raw_events
from tests.conftest import _dsn, recreate_database
from tests.guardrail.test_guardrail_against_python import synthetic_events
from tests.guardrail.test_guardrail_against_python import write_raw_events as write_guardrail_events

RAW_TABLES = ("events", "journal_lines", "provider_balance_transactions")
PG_TYPES = {"VARCHAR": "text", "JSON": "jsonb", "TIMESTAMP WITH TIME ZONE": "timestamptz", "BIGINT": "bigint"}


def add_finance_rows(path: Path) -> None:
    """A matched charge, a refund only the journal has and a payout only the provider has."""
    at = datetime(2026, 11, 2, 12, tzinfo=UTC)
    with warehouse.connect(path) as connection:
        connection.executemany(
            "insert into raw.journal_lines values (?, ?, ?, ?, ?, ?, 'EUR', ?, null, null, null, ?)",
            [
                (1, "e1", "support_hold", at, "provider_balance", None, 2_500, "ch_1"),
                (2, "e1", "support_hold", at, "creator_payable", "p1", -2_500, "ch_1"),
                (3, "e2", "refund", at, "creator_payable", "p1", 700, "re_1"),
                (4, "e2", "refund", at, "provider_balance", None, -700, "re_1"),
            ],
        )
        connection.executemany(
            "insert into raw.provider_balance_transactions values (?, ?, 'EUR', ?, ?, ?, 'test')",
            [("txn_1", 2_500, "charge", "ch_1", at), ("txn_2", -9_000, "payout", "po_1", at)],
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


def dbt_build(environment: dict[str, str], scratch: Path) -> None:
    result = build(environment, scratch, timeout=600)
    assert result.returncode == 0, result.stdout[-6000:]


def normalize(value: object) -> object:
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 9)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else round(float(value), 9)
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    if value is not None and not isinstance(value, (int, str)):
        return str(value)
    return value


def mart_rows(rows: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    return sorted((tuple(normalize(v) for v in row) for row in rows), key=repr)


@pytest.mark.slow
async def test_duckdb_and_postgres_build_equal_marts(admin_url: str, worker_id: str, tmp_path: Path) -> None:
    duck_path = tmp_path / "warehouse.duckdb"
    await asyncio.to_thread(write_raw_events, duck_path, generate_events(7))
    await asyncio.to_thread(add_finance_rows, duck_path)
    guardrail_scratch = tmp_path / "guardrail"
    guardrail_scratch.mkdir()
    await asyncio.to_thread(write_guardrail_events, duck_path, synthetic_events(11, projects=2), guardrail_scratch)
    prefix = os.environ.get("PATRONAGE_TEST_DB_PREFIX", "patronage")  # sessions sharing a server stay apart
    pg_url = await recreate_database(admin_url, f"{prefix}_warehouse_{worker_id}")
    pg_dsn = _dsn(pg_url)
    await asyncio.to_thread(copy_raw_to_postgres, duck_path, pg_dsn)

    await asyncio.to_thread(
        dbt_build, {"PATRONAGE_WAREHOUSE": str(duck_path), "PATRONAGE_DBT_TARGET": "duckdb"}, tmp_path / "duck"
    )
    # PostgreSQL through the spec's one variable: the URL alone selects and configures the `postgres` target.
    await asyncio.to_thread(dbt_build, {"PATRONAGE_WAREHOUSE_URL": pg_dsn}, tmp_path / "pg")

    with duckdb.connect(str(duck_path), read_only=True) as duck, psycopg2.connect(pg_dsn) as pg, pg.cursor() as cursor:
        marts = [
            name
            for (name,) in duck.execute(
                "select table_name from information_schema.tables where table_schema = 'marts' "
                "and table_name not in ('dead_letter_events', 'ingestion_audit') order by 1"
            ).fetchall()
        ]
        assert {"funnel_daily", "kpi_daily", "reconciliation_daily", "bitrate_guardrail_state"} <= set(marts)
        for mart in marts:
            columns = [
                c
                for (c,) in duck.execute(
                    "select column_name from information_schema.columns "
                    "where table_schema = 'marts' and table_name = ? order by ordinal_position",
                    [mart],
                ).fetchall()
            ]
            select = f"select {', '.join(columns)} from marts.{mart}"  # noqa: S608 (names from the catalog)
            in_duck = mart_rows(duck.execute(select).fetchall())
            cursor.execute(select)
            in_pg = mart_rows(cursor.fetchall())
            assert in_duck, f"{mart} is empty: the fixture does not exercise it"
            assert in_duck == in_pg, f"{mart} differs between DuckDB and PostgreSQL"
