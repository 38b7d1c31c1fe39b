"""The PostgreSQL adapter: the warehouse in a PostgreSQL database (`PATRONAGE_WAREHOUSE_URL=postgresql://…`).

The ingestion's bulk load streams CSV spool files straight into raw.events with COPY; smaller JSON-lines loads
go through a temporary table of lines and `json_populate_record`. `json` (not `jsonb`) keeps the properties'
text as the ingestion wrote it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.errors
import psycopg2.extensions
import psycopg2.extras

from stores.warehouse.port import BULK_CSV, RAW_COLUMNS, Warehouse, added_columns, schema

COLUMN_OPTIONS = {"zstd": "", "plain": ""}
# A run finds its own rows in raw.events by run_id: its settle, its delete of the losers and its count of the
# accepted would each read the whole history without this (1.4-1.5 s a run on a 1M-event history, 0.5 s with it,
# for 4 % more time on a 1M bulk load: bench/README.md). DuckDB needs none: it reads the run_id column alone.
# The earlier rows of a run's event ids are found by one read of the history (0.5 s a run per million events). A hash
# index on event_id would make that a lookup (0.10 s on a 1M- or 10M-event history) but costs bulk loads 18 % at 1M
# events and 80 % at 10M (bench/README.md), and a nested loop, which `bulk_loaded` rules out, is how it is used.
INDEXES = {"events_run_id": "create index events_run_id on raw.events (run_id)"}
# The columns runs look raw.events up by, whose statistics a run that grew the table renews (`bulk_loaded`).
LOOKED_UP = {"raw.events": ("event_id", "run_id", "source")}
# A spool line is one CSV field: JSON text has neither of these characters unescaped.
_WHOLE_LINE = "format csv, delimiter e'\\x01', quote e'\\x02'"


def _pyformat(sql: str) -> str:
    """The port's `?` placeholders in psycopg2's words (a literal % doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


class PostgresWarehouse(Warehouse):
    engine = "postgres"
    errors = (psycopg2.Error,)
    missing_relation = (psycopg2.errors.UndefinedTable,)

    def __init__(self, connection: psycopg2.extensions.connection) -> None:
        self.connection = connection

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.connection.cursor() as cursor:
            cursor.execute(_pyformat(sql), list(params))
            return cursor.fetchall() if cursor.description else []

    def columns_and_rows(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[tuple[Any, ...]]]:
        with self.connection.cursor() as cursor:
            cursor.execute(_pyformat(sql), list(params))
            return [d[0] for d in cursor.description or []], cursor.fetchall()

    def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(_pyformat(sql), list(params))

    bulk_format = "csv"  # COPY straight into the table: 2.3x less of the server's time than a JSON parse per line

    def load_bulk(self, table: str, columns: dict[str, str], paths: Sequence[Path]) -> None:
        with self.connection.cursor() as cursor:
            for path in paths:
                with path.open("rb") as spool:
                    cursor.copy_expert(f"copy {table} ({', '.join(columns)}) from stdin with ({BULK_CSV})", spool)

    def bulk_loaded(self, table: str, rows: int) -> None:
        """The run's statements that follow are set operations between its rows and the whole history: no nested
        loop for them. A run is new, so the statistics take its run_id for a rare value and its rows for one or
        two, and a nested loop planned for one row repeats its inner side for every row there is (a run of 2,000
        events after a 1M-event bulk load once took over 5 minutes, against 1 s: bench/README.md). Then
        autovacuum's rule for analyzing a table (changes over a tenth of its rows), applied at once rather than up
        to a minute later."""
        columns = LOOKED_UP.get(table)
        if not columns:
            return
        with self.connection.cursor() as cursor:
            cursor.execute("set local enable_nestloop = off")  # until the run's transaction ends
            if not rows:
                return
            cursor.execute("select reltuples from pg_class where oid = %s::regclass", [table])
            ((known,),) = cursor.fetchall()
            if known < 0 or rows > 0.1 * known:  # -1: never analyzed
                cursor.execute(f"analyze {table} ({', '.join(columns)})")

    def load_json_lines(
        self, table: str, columns: dict[str, str], paths: Sequence[Path], *, on_conflict_do_nothing: bool = False
    ) -> None:
        if not paths:
            return
        if self.connection.info.transaction_status == psycopg2.extensions.TRANSACTION_STATUS_IDLE:
            # Outside `transaction()` each statement commits, and the spool table empties at every commit: the
            # lines would be gone before the insert reads them. One transaction, as the port promises one load.
            with self.transaction():
                self.load_json_lines(table, columns, paths, on_conflict_do_nothing=on_conflict_do_nothing)
            return
        names = ", ".join(columns)
        with self.connection.cursor() as cursor:
            cursor.execute("create temp table if not exists spool_lines (line text) on commit delete rows")
            cursor.execute("truncate spool_lines")
            for path in paths:
                with path.open("rb") as spool:
                    cursor.copy_expert(f"copy spool_lines from stdin with ({_WHOLE_LINE})", spool)
            cursor.execute(  # one parse per line: the keys are the table's column names
                f"insert into {table} ({names}) select {names} from spool_lines, "  # noqa: S608 (our own names)
                f"json_populate_record(null::{table}, spool_lines.line::json)"
                + (" on conflict do nothing" if on_conflict_do_nothing else "")
            )
            cursor.execute("truncate spool_lines")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.connection.cursor() as cursor:
            cursor.execute("begin")
        try:
            yield
        except BaseException:
            with self.connection.cursor() as cursor:  # autocommit: psycopg2's rollback() would send nothing
                cursor.execute("rollback")
            raise
        with self.connection.cursor() as cursor:
            cursor.execute("commit")


@contextmanager
def connect(url: str) -> Iterator[PostgresWarehouse]:
    """Open the warehouse database; the ingestion's tables are made sure to exist."""
    connection = psycopg2.connect(url)
    try:
        connection.autocommit = True  # statements outside `transaction()` commit on their own
        # JSON comes back as its text, as DuckDB gives it: readers parse it if they need to.
        psycopg2.extras.register_default_json(connection, loads=lambda text: text)
        psycopg2.extras.register_default_jsonb(connection, loads=lambda text: text)
        with connection.cursor() as cursor:
            cursor.execute("set timezone = 'UTC'")
            cursor.execute("select pg_advisory_lock(hashtext('patronage warehouse schema'))")  # one creator at a time
            try:
                for statement in schema(COLUMN_OPTIONS):
                    cursor.execute(statement)
                cursor.execute(RAW_COLUMNS)
                for statement in added_columns(cursor.fetchall()):
                    cursor.execute(statement)
                cursor.execute("select indexname from pg_indexes where schemaname = 'raw' and tablename = 'events'")
                present = {name for (name,) in cursor.fetchall()}
                for name, statement in INDEXES.items():  # looked up first: `if not exists` would lock the table
                    if name not in present:
                        cursor.execute(statement)
            finally:
                cursor.execute("select pg_advisory_unlock(hashtext('patronage warehouse schema'))")
        yield PostgresWarehouse(connection)
    finally:
        connection.close()
