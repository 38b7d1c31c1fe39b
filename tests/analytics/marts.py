"""Marts compared across engines: each mart's columns, and its rows in values every engine spells alike."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from decimal import Decimal

from stores.warehouse import WarehouseAt, open_warehouse

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


def catalog_columns(where: WarehouseAt) -> dict[str, list[tuple[str, str]]]:
    """Every table of schema marts: its (column, lower-case type without precision) in order, from the engine."""
    with open_warehouse(where, read_only=True) as store:
        found = store.rows(
            "select table_name, column_name, lower(data_type) from information_schema.columns "
            "where table_schema = 'marts' order by table_name, ordinal_position"
        )
    tables: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in found:
        tables.setdefault(table, []).append((column, (data_type or "").split("(")[0].strip()))
    return tables


def mart_tables(where: WarehouseAt) -> dict[str, list[tuple[str, bool]]]:
    """Every table in schema marts with its columns in order, each with whether it is JSON."""
    return {
        table: [(column, kind == "json") for column, kind in columns]
        for table, columns in catalog_columns(where).items()
    }


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
