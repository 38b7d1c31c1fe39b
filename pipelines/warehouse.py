"""The DuckDB warehouse: the tables the ingestion owns, created on first use.

DuckDB allows one writer at a time: the pipeline opens the file read-write only inside a run;
analysts open it read-only between runs (see README, "For analysts").
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

SCHEMA = (
    "create schema if not exists raw",
    "create schema if not exists marts",
    # Accepted, deduplicated events: the staging source of the dbt models (marts.fct_events).
    """
    create table if not exists raw.events (
        event_id varchar primary key,
        event_name varchar not null,
        schema_version varchar not null,
        occurred_at timestamptz not null,
        sent_at timestamptz,
        received_at timestamptz not null,
        platform varchar not null,
        app_version varchar,
        user_id varchar,
        anonymous_id varchar,
        session_id varchar,
        project_id varchar,
        properties json not null,
        context json,
        raw varchar not null,
        raw_sha256 varchar not null,
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


@contextmanager
def connect(path: Path, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse; the writer also makes sure the ingestion's tables exist."""
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect(str(path), read_only=read_only)
    try:
        connection.execute("set timezone = 'UTC'")
        if not read_only:
            for statement in SCHEMA:
                connection.execute(statement)
        yield connection
    finally:
        connection.close()


def table_exists(connection: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    row = connection.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, name]
    ).fetchone()
    return bool(row and row[0])
