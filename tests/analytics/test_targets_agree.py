"""Same pipeline on both engines: the same landing files through the real ingestion and the same finance rows, then
the whole dbt project, give equal marts on DuckDB and on PostgreSQL, row for row."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from stores.warehouse import WarehouseAt, open_warehouse
from tests.analytics.corpus import ENGINES, marts_warehouse

# Written by the ingestion, not by dbt: compared without the clock of the run that wrote them.
RUN_CLOCK = {"ingestion_audit": {"started_at", "finished_at"}}


def normalize(value: object) -> object:
    """One value whatever the engine: whole numbers as int (PostgreSQL's numeric is a Decimal), other numbers to
    9 places, instants in UTC, anything else (dates) as its text."""
    if isinstance(value, float):
        return None if math.isnan(value) else (int(value) if value.is_integer() else round(value, 9))
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else round(float(value), 9)
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    if value is not None and not isinstance(value, int | str):
        return str(value)
    return value


def json_value(text: str | None) -> str | None:
    """JSON text without its layout: DuckDB stores a JSON column minified, PostgreSQL as the writer spaced it."""
    return None if text is None else json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)


def mart_tables(where: WarehouseAt) -> dict[str, list[tuple[str, bool]]]:
    """Every table in schema marts with its columns in order, each with whether it is JSON."""
    with open_warehouse(where, read_only=True) as store:
        found = store.rows(
            "select table_name, column_name, lower(data_type) = 'json' from information_schema.columns "
            "where table_schema = 'marts' order by table_name, ordinal_position"
        )
    tables: dict[str, list[tuple[str, bool]]] = {}
    for table, column, is_json in found:
        tables.setdefault(table, []).append((column, bool(is_json)))
    return tables


def mart_rows(where: WarehouseAt, table: str, columns: list[tuple[str, bool]]) -> list[tuple[object, ...]]:
    names = ", ".join(name for name, _ in columns)
    with open_warehouse(where, read_only=True) as store:
        rows = store.rows(f"select {names} from marts.{table}")  # noqa: S608 (names from the catalog)
    return sorted(
        (
            tuple(json_value(v) if is_json else normalize(v) for v, (_, is_json) in zip(row, columns, strict=True))
            for row in rows
        ),
        key=repr,
    )


@pytest.mark.slow
def test_the_same_landing_files_build_equal_marts_on_duckdb_and_postgresql(
    tmp_path_factory: pytest.TempPathFactory, admin_url: str, worker_id: str
) -> None:
    duck, pg = (marts_warehouse(engine, tmp_path_factory, admin_url, worker_id) for engine in ENGINES)
    tables = mart_tables(duck)
    assert mart_tables(pg) == tables
    assert len(tables) == 15  # the thirteen dbt marts, the dead letters and the ingestion audit
    for table, all_columns in tables.items():
        columns = [c for c in all_columns if c[0] not in RUN_CLOCK.get(table, set())]
        in_duck, in_pg = mart_rows(duck, table, columns), mart_rows(pg, table, columns)
        assert in_duck, f"{table} is empty: the corpus does not exercise it"
        assert len(in_duck) == len(in_pg), f"{table}: {len(in_duck)} rows on DuckDB, {len(in_pg)} on PostgreSQL"
        differing = [(d, p) for d, p in zip(in_duck, in_pg, strict=True) if d != p]
        assert not differing, f"{table} differs between DuckDB and PostgreSQL, first rows: {differing[:3]}"
