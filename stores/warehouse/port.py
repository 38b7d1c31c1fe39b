"""The warehouse port: every writer and reader of the warehouse goes through `Warehouse`, whatever the engine.

SQL given to the port uses `?` placeholders and the dialect the engines share; what differs (bulk loading, the
catalog, column options, replacing a row by its key: `upsert`, setting columns on rows by their key: `mark`) is each
adapter's. The ingestion's own tables are created by the adapters from SCHEMA, on every engine; what analysts read in
`marts` is built by dbt.
"""

from __future__ import annotations

import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import msgspec

SCHEMA = (
    "create schema if not exists raw",
    "create schema if not exists marts",
    # Accepted, deduplicated events: the staging source of the dbt models (marts.fct_events). The ingestion keeps
    # event_id unique by set operations (pipelines/ingestion.py), not by a key; PostgreSQL's adapter adds the index
    # a run finds its own rows by (postgres_adapter.INDEXES).
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
    "create table if not exists raw.watermarks (source varchar primary key, position bigint not null)",
    # The landing files ingested, by content. A later run reads again only a file whose path, size or modification
    # time differs from what is recorded here (pipelines/sources.py, find_landing_files); `modified` is null on the
    # rows of warehouses made before it was recorded.
    """
    create table if not exists raw.ingested_files (
        sha256 varchar primary key, path varchar not null, bytes bigint not null, run_id varchar not null,
        modified timestamptz
    )
    """,
)
# Columns added to the ingestion's tables since they were first made, by table: `added_columns` gives them to an
# older warehouse.
INGESTION_ADDED = {"ingested_files": {"modified": "timestamptz"}}

# The finance extracts' tables (pipelines/extracts.py replaces each at every run), by name: their columns and types.
# Opening a warehouse creates them empty, so dbt builds before the first extract too.
FINANCE_TABLES: dict[str, dict[str, str]] = {
    "journal_lines": {
        "line_id": "bigint",
        "entry_id": "varchar",
        "entry_type": "varchar",
        "occurred_at": "timestamptz",
        "account_code": "varchar",
        "project_id": "varchar",
        "currency": "varchar",
        "amount_minor": "bigint",
        "support_id": "varchar",
        "dispute_id": "varchar",
        "payout_id": "varchar",
        "provider_object_id": "varchar",
        "provider_transaction_id": "varchar",
        "reporting_category": "varchar",
    },
    "supports": {
        "support_id": "varchar",
        "project_id": "varchar",
        "supporter_id": "varchar",
        "status": "varchar",
        "amount_minor": "bigint",
        "currency": "varchar",
        "succeeded_at": "timestamptz",
        "created_at": "timestamptz",
        "payment_intent_id": "varchar",
        "charge_id": "varchar",
        "refunded_minor": "bigint",
    },
    "disputes": {
        "dispute_id": "varchar",
        "provider_dispute_id": "varchar",
        "support_id": "varchar",
        "project_id": "varchar",
        "status": "varchar",
        "amount_minor": "bigint",
        "currency": "varchar",
        "provider_created_at": "timestamptz",
        "closed_at": "timestamptz",
    },
    "payouts": {
        "payout_id": "varchar",
        "project_id": "varchar",
        "currency": "varchar",
        "execution_date": "date",
        "settlement_target_date": "date",
        "status": "varchar",
        "amount_minor": "bigint",
        "withheld_minor": "bigint",
        "support_count": "bigint",
        "provider_payout_id": "varchar",
        "released_at": "timestamptz",
        "paid_at": "timestamptz",
        "failed_at": "timestamptz",
    },
    "payout_items": {
        "payout_id": "varchar",
        "support_id": "varchar",
        "amount_minor": "bigint",
    },
    "provider_balance_transactions": {
        "transaction_id": "varchar",
        "amount_minor": "bigint",
        "currency": "varchar",
        "reporting_category": "varchar",
        "source": "varchar",
        "created": "timestamptz",
        "provider_source": "varchar",
        "fee_minor": "bigint",
        "net_minor": "bigint",
        "fee_details": "json",
        "transaction_type": "varchar",
    },
}


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


def storable(value: Any) -> Any:
    """A JSON value with U+0000 in its strings (keys too) replaced by U+FFFD, as every engine stores it.

    PostgreSQL's text cannot hold U+0000 (a COPY with one fails, and the run with it), and its `->>` refuses the
    escape in json; so no engine stores it, and every engine stores the same. The raw line keeps the bytes as sent.
    """
    if type(value) is str:
        return value.replace("\x00", "\ufffd")
    if type(value) is dict:
        return {storable(key): storable(item) for key, item in value.items()}
    if type(value) is list:
        return [storable(item) for item in value]
    return value


def schema(column_options: dict[str, str]) -> list[str]:
    """SCHEMA with an adapter's column options (`zstd` for long texts, `plain` for random ids, or nothing), then the
    finance tables."""
    finance = [
        f"create table if not exists raw.{name} ({', '.join(f'{column} {kind}' for column, kind in columns.items())})"
        for name, columns in FINANCE_TABLES.items()
    ]
    return [*(statement.format(**column_options) for statement in SCHEMA), *finance]


RAW_COLUMNS = "select table_name, column_name from information_schema.columns where table_schema = 'raw'"


def added_columns(found: Iterable[tuple[str, str]]) -> list[str]:
    """The statements that give a `raw` table made by an older version the columns added since (the finance
    tables', INGESTION_ADDED), from `found` (RAW_COLUMNS' rows): none once the warehouse is current, so opening it
    takes no table lock."""
    present = {(str(table).lower(), str(column).lower()) for table, column in found}
    return [
        f"alter table raw.{name} add column {column} {kind}"
        for name, columns in (*FINANCE_TABLES.items(), *INGESTION_ADDED.items())
        for column, kind in columns.items()
        if (name, column) not in present
    ]


# The ingestion's CSV rows (PostgreSQL's COPY options): text quoted, its `"` and `\` escaped by a backslash as JSON
# escapes them, so a JSON array of the row's values is the row; null unquoted `null` ("null" quoted is text).
BULK_CSV = "format csv, escape e'\\\\', null 'null'"

KEYS_PER_STATEMENT = 1000  # `mark`'s keys per update: a statement per key cost a round trip per row


class Warehouse(ABC):
    """One open warehouse session. Statements outside `transaction()` commit on their own."""

    engine: str
    errors: tuple[type[Exception], ...]  # what the engine raises for a statement it refuses
    missing_relation: tuple[type[Exception], ...]  # … for a table or view that does not exist (a mart not built yet)

    @abstractmethod
    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    def columns_and_rows(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[tuple[Any, ...]]]: ...

    @abstractmethod
    def run(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    bulk_format: Literal["json", "csv"] = "json"  # the spool format `load_bulk` reads: the engine's fastest

    def spool_root(self) -> Path:
        """Where files to bulk-load are written: a directory the engine's reader reaches. This machine's TMPDIR, as
        DuckDB reads in this process and PostgreSQL's COPY from this client."""
        return Path(tempfile.gettempdir())

    def load_bulk(self, table: str, columns: dict[str, str], paths: Sequence[Path]) -> None:
        """Append spool files in `bulk_format` to `table`: JSON lines with `columns` by name, or CSV rows of
        `columns` in order (BULK_CSV): the ingestion's bulk path. JSON lines go through `load_json_lines`; an engine
        that reads CSV faster says so and loads it itself."""
        self.load_json_lines(table, columns, paths)

    def bulk_loaded(self, table: str, rows: int) -> None:  # noqa: B027 (optional: most engines need nothing)
        """`rows` were bulk-loaded into `table` in this transaction, which is about to look rows up in it: an engine
        whose planner goes by statistics renews them if they no longer describe the table. Nothing by default."""

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
        with tempfile.TemporaryDirectory(prefix="patronage-rows-", dir=self.spool_root()) as spool:
            path = Path(spool) / "rows.ndjson"
            with path.open("wb") as handle:
                for row in rows:
                    handle.write(msgspec.json.encode(dict(zip(names, row, strict=True))) + b"\n")
            self.load_json_lines(table, columns, [path], on_conflict_do_nothing=on_conflict_do_nothing)

    def upsert(self, table: str, columns: Sequence[str], key: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Insert rows (a value per column of `table`, in order), each replacing the row with its `key` if there is
        one: `on conflict … do update` on the SQL engines; an engine without it replaces the rows itself."""
        values, keys = ", ".join("?" for _ in columns), ", ".join(key)
        updates = ", ".join(f"{column} = excluded.{column}" for column in columns if column not in key)
        statement = f"insert into {table} values ({values}) on conflict ({keys}) do update set {updates}"  # noqa: S608
        for row in rows:
            self.run(statement, row)

    def mark(self, table: str, key: str, keys: Sequence[Any], values: Mapping[str, Any]) -> None:
        """Set each column of `values` to its value on the rows of `table` whose `key` column is one of `keys`; a key
        with no row is skipped, and other rows and columns stay as they are (replay marks the dead letters it
        rescued). `update … where key in (…)` on the SQL engines, a bounded number of keys per statement; an engine
        without updates rewrites the rows itself."""
        if not values:
            return
        assignments = ", ".join(f"{column} = ?" for column in values)
        for start in range(0, len(keys), KEYS_PER_STATEMENT):
            batch = keys[start : start + KEYS_PER_STATEMENT]
            matches = ", ".join("?" for _ in batch)
            statement = f"update {table} set {assignments} where {key} in ({matches})"  # noqa: S608 (our own names)
            self.run(statement, [*values.values(), *batch])

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
