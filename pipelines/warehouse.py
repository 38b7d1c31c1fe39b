"""The warehouse port: every writer and reader of the warehouse goes through `Warehouse`, whatever the engine.

One adapter per engine; the DuckDB file is the embedded default. SQL given to the port uses `?` placeholders and
the dialect both engines share; what differs (bulk loading, the catalog) is each adapter's.

DuckDB allows one writer at a time: the pipeline opens the file read-write only inside a run;
analysts open it read-only between runs (see README, "For analysts").
"""

from __future__ import annotations

import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import msgspec

SCHEMA = (
    "create schema if not exists raw",
    "create schema if not exists marts",
    # Accepted, deduplicated events: the staging source of the dbt models (marts.fct_events). The ingestion keeps
    # event_id unique by set operations (pipelines/ingestion.py); an index would cost every bulk load its upkeep.
    # DuckDB: zstd for the long JSON texts and no dictionary analysis of random ids loads 40 % faster into a
    # smaller file than its default choice (bench/README.md).
    """
    create table if not exists raw.events (
        event_id varchar not null {plain},
        event_name varchar not null,
        schema_version varchar not null,
        occurred_at timestamptz not null,
        sent_at timestamptz,
        received_at timestamptz not null,
        platform varchar not null,
        app_version varchar,
        user_id varchar,
        anonymous_id varchar {plain},
        session_id varchar {plain},
        project_id varchar,
        properties json not null {zstd},
        context json {zstd},
        raw varchar not null {zstd},
        raw_sha256 varchar not null {plain},
        source varchar not null,
        source_ref varchar not null,
        run_id varchar not null
    )
    """,
    """
    create table if not exists marts.dead_letter_events (
        dead_letter_id varchar primary key,
        run_id varchar not null,
        source varchar not null,
        source_ref varchar not null,
        received_at timestamptz not null,
        reason_code varchar not null,
        errors json not null,
        event_id varchar,
        event_name varchar,
        raw varchar not null,
        raw_encoding varchar not null,
        replayed_at timestamptz,
        replay_run_id varchar
    )
    """,
    """
    create table if not exists marts.ingestion_audit (
        run_id varchar not null,
        source varchar not null,
        received bigint not null,
        accepted bigint not null,
        duplicates bigint not null,
        dead_lettered bigint not null,
        started_at timestamptz not null,
        finished_at timestamptz not null,
        primary key (run_id, source)
    )
    """,
    # Finance extracts (pipelines/extracts.py replaces them each run); empty until the first one.
    """
    create table if not exists raw.journal_lines (
        line_id bigint, entry_id varchar, entry_type varchar, occurred_at timestamptz, account_code varchar,
        project_id varchar, currency varchar, amount_minor bigint, support_id varchar, dispute_id varchar,
        payout_id varchar, provider_object_id varchar
    )
    """,
    """
    create table if not exists raw.supports (
        support_id varchar, project_id varchar, supporter_id varchar, status varchar, amount_minor bigint,
        currency varchar, succeeded_at timestamptz, created_at timestamptz
    )
    """,
    """
    create table if not exists raw.disputes (
        dispute_id varchar, provider_dispute_id varchar, support_id varchar, project_id varchar, status varchar,
        amount_minor bigint, currency varchar, provider_created_at timestamptz, closed_at timestamptz
    )
    """,
    """
    create table if not exists raw.provider_balance_transactions (
        transaction_id varchar, amount_minor bigint, currency varchar, reporting_category varchar, source varchar,
        created timestamptz, provider_source varchar
    )
    """,
    "create table if not exists raw.watermarks (source varchar primary key, position bigint not null)",
    """
    create table if not exists raw.ingested_files (
        sha256 varchar primary key, path varchar not null, bytes bigint not null, run_id varchar not null
    )
    """,
)

# A table's columns and their types, for bulk loads (CSV fields are text; the adapter casts them).
EVENT_COLUMNS = {
    "event_id": "varchar",
    "event_name": "varchar",
    "schema_version": "varchar",
    "occurred_at": "timestamptz",
    "sent_at": "timestamptz",
    "received_at": "timestamptz",
    "platform": "varchar",
    "app_version": "varchar",
    "user_id": "varchar",
    "anonymous_id": "varchar",
    "session_id": "varchar",
    "project_id": "varchar",
    "properties": "json",
    "context": "json",
    "raw": "varchar",
    "raw_sha256": "varchar",
    "source": "varchar",
    "source_ref": "varchar",
    "run_id": "varchar",
}
DEAD_LETTER_COLUMNS = {
    "dead_letter_id": "varchar",
    "run_id": "varchar",
    "source": "varchar",
    "source_ref": "varchar",
    "received_at": "timestamptz",
    "reason_code": "varchar",
    "errors": "json",
    "event_id": "varchar",
    "event_name": "varchar",
    "raw": "varchar",
    "raw_encoding": "varchar",
}


class Warehouse(ABC):
    """One open warehouse session. Statements outside `transaction()` commit on their own."""

    engine: str

    @abstractmethod
    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    def columns_and_rows(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[tuple[Any, ...]]]: ...

    @abstractmethod
    def run(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    @abstractmethod
    def load_json_lines(
        self, table: str, columns: dict[str, str], paths: Sequence[Path], *, on_conflict_do_nothing: bool = False
    ) -> None:
        """Append files of JSON lines, one row each with `columns` by name, to `table`: the bulk path."""

    def load_rows(
        self,
        table: str,
        columns: dict[str, str],
        rows: Sequence[tuple[Any, ...]],
        *,
        on_conflict_do_nothing: bool = False,
    ) -> None:
        """Append rows (a value per column, in order) that Python holds."""
        if not rows:
            return
        names = list(columns)
        with tempfile.TemporaryDirectory(prefix="patronage-rows-") as spool:
            path = Path(spool) / "rows.ndjson"
            with path.open("wb") as handle:
                for row in rows:
                    handle.write(msgspec.json.encode(dict(zip(names, row, strict=True))) + b"\n")
            self.load_json_lines(table, columns, [path], on_conflict_do_nothing=on_conflict_do_nothing)

    @abstractmethod
    @contextmanager
    def transaction(self) -> Iterator[None]: ...

    def row(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        found = self.rows(sql, params)
        return found[0] if found else None

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        found = self.row(sql, params)
        return found[0] if found else None

    def table_exists(self, schema: str, name: str) -> bool:
        return bool(
            self.scalar(
                "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                [schema, name],
            )
        )


class DuckDBWarehouse(Warehouse):
    engine = "duckdb"

    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self.connection = connection

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.connection.execute(sql, list(params)).fetchall()

    def columns_and_rows(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[tuple[Any, ...]]]:
        cursor = self.connection.execute(sql, list(params))
        return [d[0] for d in cursor.description or []], cursor.fetchall()

    def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.connection.execute(sql, list(params))

    def load_json_lines(
        self, table: str, columns: dict[str, str], paths: Sequence[Path], *, on_conflict_do_nothing: bool = False
    ) -> None:
        if not paths:
            return
        spec = ", ".join(f"'{name}': '{'json' if kind == 'json' else 'varchar'}'" for name, kind in columns.items())
        casts = ", ".join(
            name if kind in ("varchar", "json") else f"cast({name} as {kind})" for name, kind in columns.items()
        )
        self.connection.execute(
            f"insert into {table} ({', '.join(columns)}) select {casts} "  # noqa: S608 (our own names)
            "from read_json(?, format = 'newline_delimited', maximum_object_size = 1073741824, "
            f"columns = {{{spec}}})" + (" on conflict do nothing" if on_conflict_do_nothing else ""),
            [[str(path) for path in paths]],
        )

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.connection.execute("begin transaction")
        try:
            yield
        except BaseException:
            self.connection.execute("rollback")
            raise
        self.connection.execute("commit")


_DUCKDB_COMPRESSION = {"zstd": "using compression zstd", "plain": "using compression uncompressed"}
_NO_COMPRESSION = {"zstd": "", "plain": ""}


def schema(engine: str) -> list[str]:
    """SCHEMA in the engine's words: the column compression clauses are DuckDB's."""
    words = _DUCKDB_COMPRESSION if engine == "duckdb" else _NO_COMPRESSION
    return [statement.format(**words) for statement in SCHEMA]


def _drop_event_id_key(connection: duckdb.DuckDBPyConnection) -> None:
    """Warehouses made before 2026-12-03 keyed raw.events by event_id; the ingestion now keeps it unique itself."""
    keyed = connection.execute(
        "select count(*) from duckdb_constraints() where schema_name = 'raw' and table_name = 'events' "
        "and constraint_type = 'PRIMARY KEY'"
    ).fetchone()
    if keyed and keyed[0]:
        connection.execute("begin transaction")
        connection.execute("alter table raw.events rename to events_keyed")
        for statement in schema("duckdb"):
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
        if not read_only:
            for statement in schema("duckdb"):
                connection.execute(statement)
            _drop_event_id_key(connection)
        yield connection
    finally:
        connection.close()


@contextmanager
def open_warehouse(path: Path, *, read_only: bool = False) -> Iterator[Warehouse]:
    with connect(path, read_only=read_only) as connection:
        yield DuckDBWarehouse(connection)


def table_exists(connection: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    return DuckDBWarehouse(connection).table_exists(schema, name)
