"""The DuckDB adapter: the embedded default, one file, one writer at a time.

The pipeline opens the file read-write only inside a run; analysts open it read-only between runs (see README,
"For analysts").
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from stores.warehouse.port import RAW_COLUMNS, Warehouse, added_columns, schema

# zstd for the long JSON texts and no dictionary analysis of random ids load 40 % faster into a smaller file than
# DuckDB's own choice (bench/README.md).
COLUMN_OPTIONS = {"zstd": "using compression zstd", "plain": "using compression uncompressed"}
WRITER_MEMORY = "512MB"  # the ingestion's process tree stays under 1.5 GiB at any volume (bench/README.md)


class DuckDBWarehouse(Warehouse):
    engine = "duckdb"
    errors = (duckdb.Error,)
    missing_relation = (duckdb.CatalogException,)

    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self.connection = connection

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.connection.execute(sql, list(params)).fetchall()

    def columns_and_rows(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[tuple[Any, ...]]]:
        cursor = self.connection.execute(sql, list(params))
        return [d[0] for d in cursor.description or []], cursor.fetchall()

    def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.connection.execute(sql, list(params))

    bulk_format = "json"  # DuckDB's JSON reader beats its CSV reader on these rows (bench/README.md)

    def load_json_lines(
        self, table: str, columns: dict[str, str], paths: Sequence[Path], *, on_conflict_do_nothing: bool = False
    ) -> None:
        if not paths:
            return
        spec = ", ".join(f"'{name}': '{'json' if kind == 'json' else 'varchar'}'" for name, kind in columns.items())
        casts = ", ".join(
            name if kind in ("varchar", "json") else f"cast({name} as {kind})" for name, kind in columns.items()
        )
        # One thread: the ingestion's judging workers have the cores, and DuckDB's second thread costs it 80 % more
        # CPU for the same load (bench/README.md).
        self.connection.execute("set threads = 1")
        try:
            self.connection.execute(
                f"insert into {table} ({', '.join(columns)}) select {casts} "  # noqa: S608 (our own names)
                "from read_json(?, format = 'newline_delimited', maximum_object_size = 67108864, "
                f"columns = {{{spec}}})" + (" on conflict do nothing" if on_conflict_do_nothing else ""),
                [[str(path) for path in paths]],
            )
        finally:
            self.connection.execute("reset threads")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.connection.execute("begin transaction")
        try:
            yield
        except BaseException:
            self.connection.execute("rollback")
            raise
        self.connection.execute("commit")


def _drop_event_id_key(connection: duckdb.DuckDBPyConnection) -> None:
    """Warehouses made before 2026-12-03 keyed raw.events by event_id; the ingestion now keeps it unique itself."""
    keyed = connection.execute(
        "select count(*) from duckdb_constraints() where schema_name = 'raw' and table_name = 'events' "
        "and constraint_type = 'PRIMARY KEY'"
    ).fetchone()
    if keyed and keyed[0]:
        connection.execute("begin transaction")
        connection.execute("alter table raw.events rename to events_keyed")
        for statement in schema(COLUMN_OPTIONS):
            connection.execute(statement)
        connection.execute("insert into raw.events select * from raw.events_keyed")
        connection.execute("drop table raw.events_keyed")
        connection.execute("commit")


@contextmanager
def connect(path: Path, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse; the writer also makes sure the ingestion's tables exist."""
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect(str(path), read_only=read_only)
    try:
        connection.execute("set timezone = 'UTC'")
        connection.execute("set enable_progress_bar = false")  # the pipeline reports its own progress
        if not read_only:
            # A writer's buffers stay small whatever it loads: finished row groups go to the file, not to memory.
            connection.execute(f"set memory_limit = '{WRITER_MEMORY}'")
            for statement in schema(COLUMN_OPTIONS):
                connection.execute(statement)
            for statement in added_columns(connection.execute(RAW_COLUMNS).fetchall()):
                connection.execute(statement)
            _drop_event_id_key(connection)
        yield connection
    finally:
        connection.close()
