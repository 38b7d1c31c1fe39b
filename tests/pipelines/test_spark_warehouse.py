"""The Spark adapter (first increment, stores/warehouse/spark_adapter.py): a lake of Parquet tables under a local
Spark session opens with the ingestion's tables, keeps awkward values as given, refuses what its DDL forbids, and
commits so that another process sees committed tables only. One Spark session serves the whole test session."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb
import msgspec
import pytest

from stores.files import HOST
from stores.warehouse import EVENT_COLUMNS, Warehouse, exists, is_spark, name, open_warehouse, spark_adapter
from stores.warehouse.port import FINANCE_TABLES
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

WATERMARKS = {"source": "varchar", "position": "bigint"}
AWKWARD_TEXTS = ['say "hi"', "it's", "line one\nline two\r\n\ttab", "back\\slash", "ünïcödé 日本語 🎉 שלום", "", None]

# Another process reads the lake: what `marts.ingestion_audit` and raw.watermarks hold there, as JSON.
READ_IN_ANOTHER_PROCESS = """
import json, sys
from stores.warehouse import open_warehouse
with open_warehouse(sys.argv[1]) as warehouse:
    print(json.dumps({
        "watermarks": warehouse.rows("select source, position from raw.watermarks order by source"),
        "events": warehouse.rows("select event_id, properties from raw.events order by event_id"),
    }))
"""


@pytest.fixture
def lake_url(spark_session: None, tmp_path: Path) -> str:
    return f"spark://local?lake={tmp_path / 'lake'}&cores=1"


def event(event_id: str, text: str | None, occurred_at: datetime) -> dict[str, Any]:
    """A raw.events row as the ingestion spools it (properties and context as JSON objects)."""
    row: dict[str, Any] = dict.fromkeys(EVENT_COLUMNS)
    row |= {
        "event_id": event_id,
        "event_name": "support_succeeded",
        "schema_version": "1.0",
        "occurred_at": occurred_at,
        "received_at": occurred_at,
        "platform": "web",
        "user_id": text,
        "properties": {"note": text, "amount_minor": 2**53 + 1, "nested": {"list": [1, "ü"]}},
        "raw": json.dumps({"text": text}),
        "raw_sha256": "0" * 64,
        "source": "landing",
        "source_ref": "file.ndjson:1",
        "run_id": "run-1",
    }
    return row


def spool(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(msgspec.json.encode(row) + b"\n" for row in rows))
    return path


def test_a_spark_url_selects_the_lake(tmp_path: Path) -> None:
    url = f"spark://local?lake={tmp_path}"
    assert is_spark(url)
    assert not exists(url)
    assert name(url) == url
    assert spark_adapter.lake_of("spark://master:7077?lake=/mnt/lake") == Path("/mnt/lake")
    with pytest.raises(spark_adapter.SparkWarehouseError, match="absolute path"):
        spark_adapter.lake_of("spark://master:7077")
    with pytest.raises(spark_adapter.SparkWarehouseError, match="absolute path"):
        spark_adapter.lake_of("spark://local?lake=relative/lake")


def test_a_lake_shows_none_of_another_lake_s_tables(spark_session: None, tmp_path: Path) -> None:
    """One process opening two lakes in turn (the tests, a worker serving several): the second has no mart of the
    first, although the session's catalog outlives each open."""
    first = f"spark://local?lake={tmp_path / 'first'}&cores=1"
    with open_warehouse(first) as warehouse:
        assert isinstance(warehouse, spark_adapter.SparkWarehouse)
        built = tmp_path / "first" / "_builds" / "b-test" / "marts" / "probe"
        warehouse.session.range(3).write.parquet(str(built))
    spark_adapter.publish(tmp_path / "first", {"marts.probe": built})
    with open_warehouse(first) as warehouse:
        assert warehouse.rows("select count(*) from marts.probe") == [(3,)]
    with open_warehouse(f"spark://local?lake={tmp_path / 'second'}&cores=1") as warehouse:
        assert not warehouse.table_exists("marts", "probe")
        assert warehouse.table_exists("marts", "dead_letter_events")  # its own, made empty


def test_a_commit_sweeps_only_this_machine_s_abandoned_snapshots(tmp_path: Path) -> None:
    """A commit removes snapshots nothing references any more, but not one that a run on another machine sharing the
    lake is still writing: this machine cannot see that process, so it is never taken for killed."""
    lake = tmp_path / "lake"
    table = lake / "marts" / "probe"
    killed = table / f"s-1-999999999@{HOST}-deadbeef"  # no such process here
    older = table / "s-1-999999998-deadbeef"  # named by an earlier version: this machine's
    elsewhere = table / "s-1-999999999@another-host-deadbeef"  # being written by a driver on another machine
    for snapshot in (killed, older, elsewhere):
        snapshot.mkdir(parents=True)
    built = tmp_path / "build" / "probe"
    built.mkdir(parents=True)
    spark_adapter.publish(lake, {"marts.probe": built})
    (published,) = json.loads((lake / spark_adapter.CATALOG).read_text())["tables"].values()
    assert sorted(path.name for path in table.iterdir()) == sorted([published, elsewhere.name])


def test_opens_with_the_ingestion_tables_as_parquet(lake_url: str) -> None:
    with open_warehouse(lake_url) as warehouse:
        assert warehouse.engine == "spark"
        for table in ("events", "watermarks", "ingested_files", *FINANCE_TABLES):
            assert warehouse.table_exists("raw", table), table
        assert warehouse.table_exists("marts", "dead_letter_events")
        assert not warehouse.table_exists("marts", "funnel_daily")  # dbt's, not built here
        described = dict((row[0], row[1]) for row in warehouse.rows("describe table extended raw.events"))
        assert described["Provider"] == "parquet"
        columns, rows = warehouse.columns_and_rows("select * from raw.journal_lines")
        assert columns == list(FINANCE_TABLES["journal_lines"])
        assert rows == []
        with pytest.raises(warehouse.missing_relation):
            warehouse.rows("select * from marts.funnel_daily")
    assert exists(lake_url)


def test_round_trips_awkward_values(lake_url: str, tmp_path: Path) -> None:
    occurred = datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=UTC)  # a DST change in Europe: UTC all the same
    events = [event(f"e{i}", text, occurred) for i, text in enumerate(AWKWARD_TEXTS)]
    lines = [
        (2**63 - 1, "entry 'quoted'", occurred, -(2**63), None),
        (-(2**63), "entry\nnewline", datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC), 0, "🎉"),
    ]
    journal = {k: FINANCE_TABLES["journal_lines"][k] for k in ("line_id", "entry_id", "occurred_at", "amount_minor")}
    with open_warehouse(lake_url) as warehouse:
        warehouse.load_bulk("raw.events", EVENT_COLUMNS, [spool(tmp_path / "events.ndjson", events)])
        warehouse.load_rows("raw.journal_lines", journal | {"project_id": "varchar"}, lines)

        stored = {
            row[0]: row[1:]
            for row in warehouse.rows("select event_id, user_id, raw, occurred_at, properties from raw.events")
        }
        assert sorted(stored) == sorted(row["event_id"] for row in events)
        for row in events:  # the properties as the same JSON document (Spark spells its text its own way)
            *kept, properties = stored[row["event_id"]]
            assert (*kept, json.loads(properties)) == (row["user_id"], row["raw"], occurred, row["properties"])
        assert warehouse.rows(
            "select line_id, entry_id, occurred_at, amount_minor, project_id, currency from raw.journal_lines "
            "order by line_id"
        ) == [(*line, None) for line in sorted(lines)]
        assert warehouse.scalar("select count(*) from raw.events where user_id is null") == 1
        assert warehouse.rows("select event_id from raw.events where user_id = ?", ['say "hi"']) == [("e0",)]

        # Any Parquet reader opens the lake: the files hold UTC instants (not Spark's INT96), by event date.
        files = sorted((tmp_path / "lake" / "raw" / "events").rglob("*.parquet"))
        assert {file.parent.name for file in files} == {"event_date=2026-03-29"}
        with duckdb.connect() as reader:
            reader.execute("set timezone = 'UTC'")
            read = reader.execute("select distinct occurred_at from read_parquet(?)", [[str(f) for f in files]])
            assert read.fetchall() == [(occurred,)]


def test_refuses_what_the_ddl_forbids_and_writes_nothing(lake_url: str) -> None:
    with open_warehouse(lake_url) as warehouse:
        warehouse.load_rows("raw.watermarks", WATERMARKS, [("landing", 1)])
        with pytest.raises(warehouse.errors, match="duplicate key"):
            warehouse.load_rows("raw.watermarks", WATERMARKS, [("other", 5), ("landing", 2)])
        with pytest.raises(warehouse.errors, match="not-null"):
            warehouse.load_rows("raw.watermarks", WATERMARKS, [("other", None)])
        warehouse.load_rows("raw.watermarks", WATERMARKS, [("landing", 3), ("new", 4)], on_conflict_do_nothing=True)
        assert warehouse.rows("select * from raw.watermarks order by source") == [("landing", 1), ("new", 4)]
        for statement in (
            "update raw.watermarks set position = 9",
            "insert into raw.watermarks values (?, ?) on conflict (source) do update set position = excluded.position",
        ):
            with pytest.raises(spark_adapter.NotSupportedOnSpark, match=r"^not supported on Spark yet: "):
                warehouse.run(statement, ["landing", 9] if "?" in statement else [])
        assert warehouse.rows("select * from raw.watermarks order by source") == [("landing", 1), ("new", 4)]


def test_deletes_and_upserts_rewrite_only_the_files_they_touch(lake_url: str) -> None:
    def files(warehouse: Warehouse) -> dict[str, int]:
        """Each row's file, by inode: a file kept by a new snapshot is a hard link to the same inode."""
        found = warehouse.rows("select source, _metadata.file_path from raw.watermarks")
        return {source: Path(urlsplit(uri).path).stat().st_ino for source, uri in found}

    with open_warehouse(lake_url) as warehouse:
        warehouse.load_rows("raw.watermarks", WATERMARKS, [("a", 1), ("b", 2)])
        warehouse.load_rows("raw.watermarks", WATERMARKS, [("c", 3)])  # a file of its own
        before = files(warehouse)
        warehouse.run("delete from raw.watermarks where source = ? or position is null", ["a"])
        assert warehouse.rows("select * from raw.watermarks order by source") == [("b", 2), ("c", 3)]
        after = files(warehouse)
        assert after["c"] == before["c"]  # untouched: linked, not rewritten
        assert after["b"] != before["b"]  # rewritten without a
        warehouse.upsert("raw.watermarks", ("source", "position"), ("source",), [("c", 30), ("d", 4)])
        warehouse.upsert("raw.watermarks", ("source", "position"), ("source",), [("d", 40)])
        assert warehouse.rows("select * from raw.watermarks order by source") == [("b", 2), ("c", 30), ("d", 40)]
        assert files(warehouse)["b"] == after["b"]


def test_mark_rewrites_only_the_files_holding_its_keys(lake_url: str, tmp_path: Path) -> None:
    def catalog() -> dict[str, str]:
        return dict(json.loads((tmp_path / "lake" / spark_adapter.CATALOG).read_text())["tables"])

    def inodes(warehouse: Warehouse, table: str, key: str) -> dict[str, int]:
        found = warehouse.rows(f"select {key}, _metadata.file_path from {table}")  # noqa: S608
        return {value: Path(urlsplit(uri).path).stat().st_ino for value, uri in found}

    with open_warehouse(lake_url) as warehouse:
        warehouse.load_rows("raw.watermarks", WATERMARKS, [("a", 1), ("b", 2)])
        warehouse.load_rows("raw.watermarks", WATERMARKS, [("c", 3)])  # a file of its own
        before = inodes(warehouse, "raw.watermarks", "source")
        warehouse.mark("raw.watermarks", "source", ["a", "nowhere"], {"position": 10})
        assert warehouse.rows("select * from raw.watermarks order by source") == [("a", 10), ("b", 2), ("c", 3)]
        after = inodes(warehouse, "raw.watermarks", "source")
        assert after["c"] == before["c"]  # untouched: linked, not rewritten
        assert after["b"] != before["b"]  # rewritten, unchanged, beside a

        committed = catalog()
        warehouse.mark("raw.watermarks", "source", ["nowhere"], {"position": 0})
        assert catalog() == committed  # nothing matched: no new snapshot
        with pytest.raises(warehouse.errors, match="not-null"):
            warehouse.mark("raw.watermarks", "source", ["b"], {"position": None})
        with pytest.raises(warehouse.errors, match="duplicate key"):
            warehouse.mark("raw.watermarks", "source", ["b"], {"source": "c"})

        def killed_midway() -> None:
            with warehouse.transaction():
                warehouse.mark("raw.watermarks", "source", ["c"], {"position": 30})
                assert warehouse.scalar("select position from raw.watermarks where source = 'c'") == 30
                raise RuntimeError("killed")

        with pytest.raises(RuntimeError, match="killed"):
            killed_midway()
        assert catalog() == committed
        assert warehouse.rows("select * from raw.watermarks order by source") == [("a", 10), ("b", 2), ("c", 3)]

        # A value that moves a row to another partition: its file is written there.
        moved = datetime(2026, 12, 24, 18, tzinfo=UTC)
        warehouse.load_rows(
            "raw.events", EVENT_COLUMNS, [tuple(event("e1", "x", datetime(2026, 12, 1, tzinfo=UTC)).values())]
        )
        warehouse.mark("raw.events", "event_id", ["e1"], {"occurred_at": moved})
        assert warehouse.rows("select occurred_at, event_date from raw.events") == [(moved, date(2026, 12, 24))]
    files = (tmp_path / "lake" / "raw" / "events" / catalog()["raw.events"]).rglob("*.parquet")
    assert {file.parent.name for file in files} == {"event_date=2026-12-24"}


def test_a_transaction_commits_all_or_nothing(lake_url: str, tmp_path: Path) -> None:
    with open_warehouse(lake_url) as warehouse:

        def killed_midway() -> None:
            with warehouse.transaction():
                warehouse.load_rows("raw.watermarks", WATERMARKS, [("landing", 1)])
                warehouse.run(
                    "insert into raw.ingested_files (sha256, path, bytes, run_id) values (?, ?, ?, ?)",
                    ["sha", "a.ndjson", 10, "run-1"],
                )
                assert warehouse.scalar("select count(*) from raw.watermarks") == 1  # it reads its own writes
                raise RuntimeError("killed")

        with pytest.raises(RuntimeError, match="killed"):
            killed_midway()
        assert warehouse.scalar("select count(*) from raw.watermarks") == 0
        assert warehouse.scalar("select count(*) from raw.ingested_files") == 0
        gone = _finished_pid()
        killed = tmp_path / "lake" / "raw" / "watermarks" / f"s-1-{gone}-killed"  # a killed run's next snapshot
        killed.mkdir()
        (killed / "part-0.parquet").write_bytes(b"half-written")
        with warehouse.transaction():
            warehouse.run("delete from raw.watermarks")
            warehouse.load_rows("raw.watermarks", WATERMARKS, [("landing", 2)])
            warehouse.run(
                "insert into raw.ingested_files (sha256, path, bytes, run_id) values (?, ?, ?, ?)",
                ["sha", "a.ndjson", 10, "run-1"],
            )
        assert warehouse.rows("select * from raw.watermarks") == [("landing", 2)]
        assert warehouse.rows("select sha256, bytes from raw.ingested_files") == [("sha", 10)]
    assert not killed.exists()
    assert not [path for path in (tmp_path / "lake").rglob("*") if path.name.endswith(".tmp")]


def _finished_pid() -> int:
    """The id of a process that has ended."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_another_process_sees_committed_tables_only(lake_url: str, tmp_path: Path) -> None:
    def read_elsewhere() -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, "-c", READ_IN_ANOTHER_PROCESS, lake_url],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=240,
            check=True,
        )
        return dict(json.loads(done.stdout.strip().splitlines()[-1]))

    occurred = datetime(2026, 12, 1, 8, tzinfo=UTC)
    with open_warehouse(lake_url) as warehouse:
        warehouse.load_rows("raw.watermarks", WATERMARKS, [("landing", 7)])
        with warehouse.transaction():
            warehouse.load_bulk(
                "raw.events", EVENT_COLUMNS, [spool(tmp_path / "e.ndjson", [event("é", "x", occurred)])]
            )
            warehouse.run("delete from raw.watermarks")
            seen_meanwhile = read_elsewhere()
        seen_after = read_elsewhere()

    assert seen_meanwhile == {"watermarks": [["landing", 7]], "events": []}
    assert seen_after["watermarks"] == []
    ((event_id, properties),) = seen_after["events"]
    assert (event_id, json.loads(properties)["nested"]) == ("é", {"list": [1, "ü"]})


def test_dates_and_a_second_open_warehouse(lake_url: str) -> None:
    payout = {"payout_id": "varchar", "execution_date": "date"}
    with open_warehouse(lake_url) as warehouse:
        warehouse.load_rows("raw.payouts", payout, [("p1", date(2026, 2, 28))])
        assert warehouse.rows("select payout_id, execution_date from raw.payouts") == [("p1", date(2026, 2, 28))]
        with pytest.raises(spark_adapter.NotSupportedOnSpark, match="second open warehouse"), open_warehouse(lake_url):
            pass
