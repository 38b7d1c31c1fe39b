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
