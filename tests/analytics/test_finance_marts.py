"""The finance marts' contract on each engine (analytics.md, "Additions (2026-12-03)"): every count and money amount
is a bigint, and every mart and column carries its description into the warehouse's catalog."""

from __future__ import annotations

import pytest

from pipelines.reconcile import REPORTS
from stores.warehouse import WarehouseAt, is_postgres, open_warehouse
from tests.analytics.corpus import ENGINES, marts_warehouse

pytestmark = pytest.mark.slow


def columns(where: WarehouseAt, table: str) -> list[tuple[str, str, str | None]]:
    """(column, type, comment) of marts.<table>, in order."""
    with open_warehouse(where, read_only=True) as store:
        if is_postgres(where):
            found = store.rows(
                "select a.attname, format_type(a.atttypid, a.atttypmod), col_description(a.attrelid, a.attnum) "
                "from pg_attribute a where a.attrelid = cast(? as regclass) and a.attnum > 0 and not a.attisdropped "
                "order by a.attnum",
                [f"marts.{table}"],
            )
        else:
            found = store.rows(
                "select column_name, data_type, comment from duckdb_columns() "
                "where schema_name = 'marts' and table_name = ? order by column_index",
                [table],
            )
    return [(str(name), str(kind).lower(), comment) for name, kind, comment in found]


def table_comment(where: WarehouseAt, table: str) -> str | None:
    with open_warehouse(where, read_only=True) as store:
        if is_postgres(where):
            found = store.scalar("select obj_description(cast(? as regclass), 'pg_class')", [f"marts.{table}"])
        else:
            found = store.scalar(
                "select comment from duckdb_tables() where schema_name = 'marts' and table_name = ?", [table]
            )
    return None if found is None else str(found)


@pytest.mark.parametrize("engine", ENGINES)
def test_finance_amounts_and_counts_are_bigint_and_every_column_is_described(
    engine: str, tmp_path_factory: pytest.TempPathFactory, admin_url: str, worker_id: str
) -> None:
    where = marts_warehouse(engine, tmp_path_factory, admin_url, worker_id)
    for table in REPORTS:
        found = columns(where, table)
        assert found, table
        money = [(name, kind) for name, kind, _ in found if name.endswith("_minor") or name == "supports"]
        assert money, table
        assert {kind for _, kind in money} == {"bigint"}, (table, money)
        assert all(comment for _, _, comment in found), (table, [name for name, _, c in found if not c])
        assert table_comment(where, table), table
