"""The warehouse port on each engine: the ingestion's tables, bulk loads, marking rows by their key, and a DuckDB file
made before the port."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest

from pipelines.runs import RunStores, ingest_landing_files
from stores import warehouse
from stores.warehouse import Warehouse, WarehouseAt, open_warehouse, port
from stores.warehouse.port import FINANCE_TABLES
from tests.pipelines.events import client_event, line


def test_rows_load_and_read_back_the_same_on_every_engine(warehouse_at: WarehouseAt, tmp_path: Path) -> None:
    with open_warehouse(warehouse_at) as store:
        assert store.table_exists("raw", "events")
        assert not store.table_exists("marts", "funnel_daily")
        columns = dict(list(FINANCE_TABLES["provider_balance_transactions"].items())[:7])  # what every source has
        rows = [("txn_1", 2_500, "EUR", "charge", None, "2026-11-02T12:00:00+00:00", "report_csv")]
        with store.transaction():
            store.load_rows("raw.provider_balance_transactions", columns, rows)
        (loaded,) = store.rows(
            "select transaction_id, amount_minor, source, created from raw.provider_balance_transactions"
        )
        assert loaded[:3] == ("txn_1", 2_500, None)
        assert loaded[3].isoformat() == "2026-11-02T12:00:00+00:00"
        with pytest.raises(store.missing_relation):
            store.rows("select * from marts.funnel_daily")


def test_a_load_outside_a_transaction_commits_its_rows(warehouse_at: WarehouseAt) -> None:
    """Outside `transaction()` a load commits on its own, like any statement (PostgreSQL's spool table, emptied at
    every commit, lost the lines between the copy and the insert: nothing was loaded, silently)."""
    columns = dict(list(FINANCE_TABLES["provider_balance_transactions"].items())[:7])
    rows = [("txn_2", 900, "EUR", "refund", None, "2026-11-03T08:00:00+00:00", "api")]
    with open_warehouse(warehouse_at) as store:
        store.load_rows("raw.provider_balance_transactions", columns, rows)
    with open_warehouse(warehouse_at) as store:
        assert store.rows("select transaction_id, amount_minor from raw.provider_balance_transactions") == [
            ("txn_2", 900)
        ]


def test_a_new_warehouse_has_every_finance_table_in_the_extracts_shape(warehouse_at: WarehouseAt) -> None:
    """dbt reads them before any extract has run (a warehouse fed by the ingestion alone)."""
    with open_warehouse(warehouse_at) as store:
        for name, columns in FINANCE_TABLES.items():
            found = store.rows(
                "select column_name from information_schema.columns where table_schema = 'raw' and table_name = ? "
                "order by ordinal_position",
                [name],
            )
            assert [column for (column,) in found] == list(columns), name


def test_a_finance_table_made_by_an_older_version_gains_the_columns_added_since(warehouse_at: WarehouseAt) -> None:
    with open_warehouse(warehouse_at) as store:
        store.run("drop table raw.supports")
        store.run("create table raw.supports (support_id varchar, amount_minor bigint)")  # before fees and payouts
        store.run("insert into raw.supports values ('s1', 2500)")
    with open_warehouse(warehouse_at) as store:
        found = store.rows(
            "select column_name from information_schema.columns where table_schema = 'raw' "
            "and table_name = 'supports' order by ordinal_position"
        )
        assert sorted(column for (column,) in found) == sorted(FINANCE_TABLES["supports"])
        assert store.rows("select support_id, amount_minor, charge_id from raw.supports") == [("s1", 2500, None)]


def test_a_failed_transaction_leaves_nothing(warehouse_at: WarehouseAt) -> None:
    def failing(store: Warehouse) -> None:
        with store.transaction():
            store.run("insert into raw.watermarks values (?, ?)", ["event_landing", 7])
            raise RuntimeError("disk full")

    with open_warehouse(warehouse_at) as store:
        with pytest.raises(RuntimeError):
            failing(store)
        assert store.rows("select * from raw.watermarks") == []


def test_a_duckdb_file_keyed_by_event_id_is_carried_over(tmp_path: Path) -> None:
    """Files made before the port keyed raw.events by event_id; their rows stay and ingestion goes on."""
    path = tmp_path / "old.duckdb"
    kept = line(client_event())
    with duckdb.connect(str(path)) as old:
        old.execute("create schema raw")
        columns = ", ".join(
            f"{name} {'varchar primary key' if name == 'event_id' else 'json' if kind == 'json' else kind}"
            for name, kind in warehouse.EVENT_COLUMNS.items()
        )
        old.execute(f"create table raw.events ({columns})")
        old.execute(
            "insert into raw.events select ?, 'project_view', '1.0', now(), null, now(), 'ios', null, null, null, "
            "null, null, '{}', null, ?, 'x', 'landing_files', 'old.ndjson:1', 'run-0'",
            ["b7a0b0c4-2a62-4a8f-9f1e-3c1b8d0e2f11", kept.decode()],
        )
    (tmp_path / "landing").mkdir()
    (tmp_path / "landing" / "new.ndjson").write_bytes(line(client_event()) + b"\n")
    audit = ingest_landing_files(RunStores(path, tmp_path / "dl", tmp_path / "landing", oltp_dsn="unused"), "run-1")
    assert audit.accepted == 1
    with duckdb.connect(str(path), read_only=True) as connection:
        assert connection.execute("select count(*) from raw.events").fetchone() == (2,)
        keys = connection.execute(
            "select count(*) from duckdb_constraints() where table_name = 'events' and constraint_type = 'PRIMARY KEY'"
        ).fetchone()
        assert keys == (0,)


def test_where_a_warehouse_is_named_without_its_password() -> None:
    assert (
        warehouse.name("postgresql://etl:secret@db.internal:5432/analytics") == "postgresql://etl@db.internal/analytics"
    )
    assert warehouse.name(Path("/data/warehouse.duckdb")) == "warehouse.duckdb"
    assert warehouse.exists("postgresql://etl@db/analytics")
    assert not warehouse.exists(Path("/nonexistent/warehouse.duckdb"))


def test_mark_sets_columns_on_the_rows_of_its_keys(warehouse_at: WarehouseAt, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the rows of the keys given change, only in the columns given; a key without a row is no error."""
    monkeypatch.setattr(port, "KEYS_PER_STATEMENT", 2)  # three statements for these five keys
    payouts = {"payout_id": "varchar", "status": "varchar", "amount_minor": "bigint", "paid_at": "timestamptz"}
    paid = datetime(2026, 11, 30, 23, 30, tzinfo=timezone(timedelta(hours=-5)))  # read back as the same instant
    with open_warehouse(warehouse_at) as store:
        # In a transaction: PostgreSQL's JSON-lines load loses its rows outside one (its spool empties at commit).
        with store.transaction():
            store.load_rows("raw.payouts", payouts, [(f"p{n}", "released", 100 * n, None) for n in range(1, 6)])
        with store.transaction():
            store.mark(
                "raw.payouts", "payout_id", ["p1", "p3", "p4", "p5", "none"], {"status": "paid", "paid_at": paid}
            )
        store.mark("raw.payouts", "payout_id", ["p5"], {"status": None})
        store.mark("raw.payouts", "payout_id", [], {"status": "never"})
        found = store.rows("select payout_id, status, amount_minor, paid_at from raw.payouts order by payout_id")
    assert found == [
        ("p1", "paid", 100, paid),
        ("p2", "released", 200, None),
        ("p3", "paid", 300, paid),
        ("p4", "paid", 400, paid),
        ("p5", None, 500, paid),
    ]


def _scans_once_inserted(warehouse_at: WarehouseAt, inserted: int) -> int:
    """raw.events' sequential scans so far, read once the statistics count `inserted` rows: a backend reports its
    counts as it ends, after its client has moved on."""
    deadline = time.monotonic() + 30
    while True:
        with open_warehouse(warehouse_at) as store:
            ((scans, inserts),) = store.rows(
                "select seq_scan, n_tup_ins from pg_stat_user_tables where relid = 'raw.events'::regclass"
            )
        if inserts >= inserted or time.monotonic() > deadline:
            assert inserts == inserted
            return int(scans)
        time.sleep(0.1)


@pytest.mark.parametrize("warehouse_at", ["postgres"], indirect=True)
def test_a_run_on_postgresql_finds_its_own_rows_by_index(warehouse_at: WarehouseAt, tmp_path: Path) -> None:
    """On a history of 20,000 events, a run of 10 more reads the whole table once, to find earlier rows of its
    event ids; its own rows (settled, deleted, counted) it finds by run_id. Every scan of the whole history grows
    every hourly run with it."""
    history, later = tmp_path / "history", tmp_path / "later"
    history.mkdir()
    later.mkdir()
    lines = [line(client_event()) for _ in range(20_000)]
    (history / "a.ndjson").write_bytes(b"\n".join(lines))
    ingest_landing_files(RunStores(warehouse_at, tmp_path / "dl", history, oltp_dsn="unused"), "history")
    with open_warehouse(warehouse_at) as store:
        (indexes,) = store.rows("select count(*) from pg_indexes where schemaname = 'raw' and tablename = 'events'")
        # No analyze here: the run renewed the statistics of the columns it looks up by, not waiting for autovacuum
        # (which would analyze every column).
        analyzed = store.rows("select attname from pg_stats where schemaname = 'raw' and tablename = 'events'")
    assert indexes == (1,)
    assert sorted(column for (column,) in analyzed) == ["event_id", "run_id", "source"]
    scans = _scans_once_inserted(warehouse_at, 20_000)
    (later / "b.ndjson").write_bytes(b"\n".join([lines[0], *(line(client_event()) for _ in range(9))]))
    audit = ingest_landing_files(RunStores(warehouse_at, tmp_path / "dl", later, oltp_dsn="unused"), "later")
    assert (audit.accepted, audit.duplicates) == (9, 1)
    assert _scans_once_inserted(warehouse_at, 20_010) <= scans + 1  # the repeated line went in, then out
