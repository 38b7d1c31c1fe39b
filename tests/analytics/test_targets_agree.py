"""Same pipeline on both engines: the same landing files through the real ingestion and the same finance rows, then
the whole dbt project, give equal marts on DuckDB and on PostgreSQL, row for row."""

from __future__ import annotations

import pytest

from tests.analytics.corpus import ENGINES, marts_warehouse
from tests.analytics.marts import RUN_CLOCK, mart_rows, mart_tables


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
