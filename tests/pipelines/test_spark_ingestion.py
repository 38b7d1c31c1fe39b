"""The ingestion on Spark (second increment, issue 20): `PATRONAGE_WAREHOUSE_URL=spark://local` selects a lake, and
the same landed files give on Spark what they give on DuckDB — accepted events, dead letters byte for byte, duplicate
counts, dedupe against earlier runs — with nothing committed by a rerun or by a run that fails before its commit."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.settings import ConfigError, settings_from
from dead_letter.store import original_bytes
from pipelines import ingestion, verdicts
from pipelines.ingestion import ConservationError
from pipelines.resources import PatronageConfig, libpq_dsn
from pipelines.runs import ingest_landing_files, ingest_landing_table
from stores.warehouse import WarehouseAt, spark_adapter
from tests.conftest import MakeUser
from tests.pipelines.conftest import query
from tests.pipelines.events import post_mixed_batch
from tests.pipelines.lakes import catalog, first_corpus, lake_url, land, later_file, outcome, stores


def test_the_settings_select_a_spark_lake(tmp_path: Path) -> None:
    def warehouse_url(url: str) -> str | Path:
        env = {"PATRONAGE_DATA_DIR": str(tmp_path), "PATRONAGE_WAREHOUSE_URL": url}
        return settings_from(env).paths.warehouse_at

    resolved = warehouse_url("spark://local")
    assert resolved == f"spark://local?lake={tmp_path / 'lake'}"
    assert spark_adapter.lake_of(str(resolved)) == tmp_path / "lake"
    assert warehouse_url("spark://local?lake=/srv/lake&cores=2") == "spark://local?lake=/srv/lake&cores=2"
    cluster = warehouse_url("spark://spark-master.internal:7077?lake=/mnt/lake")  # a standalone cluster's master
    assert cluster == "spark://spark-master.internal:7077?lake=/mnt/lake"
    assert spark_adapter.master_of(str(cluster)) == ("spark://spark-master.internal:7077", {})
    assert spark_adapter.master_of("spark://m:7077?lake=/l&cores=8") == ("spark://m:7077", {"spark.cores.max": "8"})
    assert spark_adapter.master_of(str(resolved)) == ("local[*]", {})
    for bad, problem in (
        ("spark://spark-master.internal", "neither `local` nor a cluster's master as HOST:PORT"),
        ("spark://spark-master.internal:port", "neither `local` nor a cluster's master as HOST:PORT"),
        ("spark://local?lake=relative/lake", "lake must be an absolute path"),
        ("spark://local?cores=0", "cores must be a whole number"),
        ("spark://local?lakes=/srv/lake", "unknown parameter 'lakes'"),
    ):
        with pytest.raises(ConfigError, match=f"^PATRONAGE_WAREHOUSE_URL: .*{problem}") as refused:
            warehouse_url(bad)
        assert "\n" not in str(refused.value)

    config = PatronageConfig(
        warehouse=str(resolved),
        landing_dir=str(tmp_path / "landing"),
        dead_letter_dir=str(tmp_path / "dead_letter"),
        oltp_database=str(tmp_path / "pg"),
        dashboards_dir=str(tmp_path / "dashboards"),
        provider_reports_dir=str(tmp_path / "reports"),
    )
    assert config.warehouse_at == resolved  # the URL, not a DuckDB file named after it
    assert config.dbt_target == "spark"  # dbt builds on the lake (pipelines/dbt_spark.py)


@pytest.mark.slow
def test_spark_ingests_landed_files_as_duckdb_does(
    spark_session: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded: list[Path] = []  # the files Spark bulk-loaded: on a cluster its executors read them
    load = spark_adapter.SparkWarehouse.load_json_lines

    def recording(store: spark_adapter.SparkWarehouse, table: str, columns: Any, paths: Any, **options: Any) -> None:
        loaded.extend(paths)
        load(store, table, columns, paths, **options)

    monkeypatch.setattr(spark_adapter.SparkWarehouse, "load_json_lines", recording)
    first, second = first_corpus()
    later = later_file(first)
    results = {}
    engines: dict[str, WarehouseAt] = {
        "duckdb": tmp_path / "duckdb" / "warehouse.duckdb",
        "spark": lake_url(tmp_path / "spark"),
    }
    for engine, warehouse in engines.items():
        where = stores(tmp_path / engine, warehouse)
        land(where, "first.ndjson", first)
        land(where, "nested/second.ndjson.gz", second)
        ingest_landing_files(where, "run-1", workers=1)
        land(where, "later.ndjson", later, minutes_later=5)
        ingest_landing_files(where, "run-2", workers=1)
        before_rerun = outcome(where)
        tables = catalog(where) if engine == "spark" else {}
        rerun = ingest_landing_files(where, "run-3", workers=1)
        assert (rerun.received, rerun.accepted, rerun.duplicates, rerun.dead_lettered) == (0, 0, 0, 0)
        after_rerun = outcome(where)
        assert after_rerun.pop("audits")[:2] == before_rerun.pop("audits")
        assert after_rerun == before_rerun  # a rerun commits nothing new …
        if engine == "spark":  # … not even a new snapshot of the tables it only read
            changed = {name for name, snapshot in catalog(where).items() if tables[name] != snapshot}
            assert changed == {"marts.ingestion_audit"}
        results[engine] = after_rerun | {"audits": outcome(where)["audits"]}

    spark, duckdb = results["spark"], results["duckdb"]
    assert spark == duckdb
    # The spool was on the lake, the one path a cluster's executors share with the driver, and is gone.
    spools = spark_adapter.lake_of(str(engines["spark"])) / spark_adapter.SPOOL
    assert loaded
    assert all(path.is_relative_to(spools) for path in loaded)
    assert not any(spools.iterdir())
    # … and what both hold is what the corpus asks (not merely the same mistake twice).
    assert spark["audits"] == [("run-1", 17, 10, 2, 5), ("run-2", 3, 1, 1, 1), ("run-3", 0, 0, 0, 0)]
    assert [(ref, reason) for ref, reason, *_ in spark["dead_letters"]] == [
        ("first.ndjson:3", "malformed_json"),
        ("first.ndjson:4", "not_an_object"),
        ("first.ndjson:5", "malformed_json"),  # not UTF-8: its raw in base64
        ("first.ndjson:6", "schema_violation"),
        ("first.ndjson:8", "event_id_conflict"),  # the same id as line 2, other bytes
        ("later.ndjson:2", "event_id_conflict"),  # … as an event accepted by the run before
    ]
    landed = {f"first.ndjson:{n}": raw for n, raw in enumerate(first, 1)} | {
        f"later.ndjson:{n}": raw for n, raw in enumerate(later, 1)
    }
    records = [record for day in spark["dead_letter_files"].values() for record in day]
    assert len(records) == len(spark["dead_letters"]) == 6
    for record in records:  # the original bytes, in the table and the files alike
        assert original_bytes(record["raw"], record["raw_encoding"]) == landed[record["source_ref"]]
    assert {(ref, raw) for _, ref, raw, _ in spark["events"]} >= {("later.ndjson:3", later[2].decode())}


@pytest.mark.slow
async def test_spark_ingests_the_landing_table_once(
    spark_session: None, client: AsyncTestClient[Litestar], make_user: MakeUser, database_url: str, tmp_path: Path
) -> None:
    good = await post_mixed_batch(client, make_user().headers)
    where = dataclasses.replace(stores(tmp_path, lake_url(tmp_path)), oltp_dsn=libpq_dsn(database_url))

    audit = ingest_landing_table(where, "run-1", workers=1)
    assert (audit.received, audit.accepted, audit.duplicates, audit.dead_lettered) == (5, 3, 1, 1)
    assert sorted(event_id for (event_id,) in query(where, "select event_id from raw.events")) == sorted(
        event["event_id"] for event in good
    )
    ((source, position),) = query(where, "select source, position from raw.watermarks")
    again = ingest_landing_table(where, "run-2", workers=1)  # from the watermark: nothing new
    assert (again.received, query(where, "select count(*) from raw.events")) == (0, [(3,)])
    assert query(where, "select source, position from raw.watermarks") == [(source, position)]


def failing_conservation(patch: pytest.MonkeyPatch) -> None:
    """A candidate vanishes between judging and loading: received ≠ accepted + duplicates + dead-lettered."""
    real = verdicts.judge_chunk

    def leaky(*args: Any, **kwargs: Any) -> verdicts.ChunkVerdicts:
        judged = real(*args, **kwargs)
        assert judged.spool is not None
        spool = Path(judged.spool)
        spool.write_text("".join(spool.read_text().splitlines(keepends=True)[:-1]))
        return judged

    patch.setattr(ingestion, "judge_chunk", leaky)


def failing_dead_letter_rows(patch: pytest.MonkeyPatch) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("disk full")

    patch.setattr(ingestion, "insert_rows", broken)


@pytest.mark.slow
@pytest.mark.parametrize("failure", [failing_conservation, failing_dead_letter_rows])
def test_a_spark_run_failing_before_its_commit_leaves_nothing(
    spark_session: None, tmp_path: Path, failure: Callable[[pytest.MonkeyPatch], None]
) -> None:
    where = stores(tmp_path, lake_url(tmp_path))
    first, _ = first_corpus()
    land(where, "first.ndjson", first)
    query(where, "select 1")  # opens the lake: its empty tables committed
    lake = spark_adapter.lake_of(str(where.warehouse))
    empty = catalog(where)
    files_before = sorted(lake.rglob("*"))

    with pytest.MonkeyPatch.context() as patch:
        failure(patch)
        with pytest.raises((ConservationError, RuntimeError)):
            ingest_landing_files(where, "run-1", workers=1)

    assert catalog(where) == empty
    assert sorted(lake.rglob("*")) == files_before  # no snapshot left behind
    assert not list(Path(where.dead_letter_dir).rglob("*.ndjson*"))
    assert query(where, "select count(*) from raw.events") == [(0,)]
    again = ingest_landing_files(where, "run-2", workers=1)  # the same inputs, each counted once
    assert (again.received, again.accepted, again.duplicates, again.dead_lettered) == (13, 7, 1, 5)
