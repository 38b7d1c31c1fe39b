"""Landing and dead-letter files on S3-compatible object storage (moto's S3 server on loopback stands in
for the object store we cannot reach): the same runs, dedupe, failure cleanup and replay as on disk."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import fsspec
import pytest

from pipelines import ingestion
from pipelines.replay import replay
from pipelines.runs import RunStores, ingest_landing_files
from stores import warehouse
from tests.pipelines.events import client_event, line, refuse_app_open


def s3() -> fsspec.AbstractFileSystem:
    return fsspec.filesystem("s3", skip_instance_cache=True)


@pytest.fixture
def where(tmp_path: Path, bucket: str) -> RunStores:
    return RunStores(
        warehouse=tmp_path / "warehouse.duckdb",
        dead_letter_dir=f"s3://{bucket}/dead_letter",
        landing_dir=f"s3://{bucket}/landing",
        oltp_dsn="unused",
    )


def rows(where: RunStores, query: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(where.warehouse), read_only=True) as connection:
        return connection.execute(query).fetchall()


def test_landed_objects_are_ingested_once_and_dead_letters_become_objects(where: RunStores, bucket: str) -> None:
    events = [client_event() for _ in range(3)]
    s3().pipe_file(f"{bucket}/landing/a.ndjson", b"\n".join(map(line, events[:2])) + b"\n")
    nested = gzip.compress(line(events[2]) + b"\n" + b"{broken")
    s3().pipe_file(f"{bucket}/landing/2026/11/b.ndjson.gz", nested)
    s3().pipe_file(f"{bucket}/landing/notes.txt", b"not an event file")

    audit = ingest_landing_files(where, "run-1")
    assert (audit.received, audit.accepted, audit.dead_lettered) == (4, 3, 1)
    refs = {r[0] for r in rows(where, "select source_ref from raw.events")}
    assert refs == {"a.ndjson:1", "a.ndjson:2", "2026/11/b.ndjson.gz:1"}

    (received_at,) = rows(where, "select received_at from marts.dead_letter_events")[0]
    assert isinstance(received_at, datetime)
    partition = f"{bucket}/dead_letter/date={received_at.astimezone(UTC).date().isoformat()}/run-1.ndjson"
    record = json.loads(s3().cat_file(partition))
    assert (record["source_ref"], record["reason_code"], record["raw"]) == (
        "2026/11/b.ndjson.gz:2",
        "malformed_json",
        "{broken",
    )

    s3().pipe_file(f"{bucket}/landing/a-copy.ndjson", b"\n".join(map(line, events[:2])) + b"\n")
    assert ingest_landing_files(where, "run-2").received == 0  # same content under another name
    s3().pipe_file(f"{bucket}/landing/c.ndjson", line(client_event()) + b"\n")
    assert ingest_landing_files(where, "run-3").accepted == 1  # a new object is seen by the next run


def test_a_failed_commit_removes_the_dead_letter_objects(
    where: RunStores, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3().pipe_file(f"{bucket}/landing/x.ndjson", line(client_event()) + b"\n{bad\n")

    def broken(*_: object) -> None:
        raise RuntimeError("warehouse disk full")

    with monkeypatch.context() as patch:
        patch.setattr(ingestion, "insert_rows", broken)
        with pytest.raises(RuntimeError):
            ingest_landing_files(where, "run-1")
    assert s3().find(f"{bucket}/dead_letter") == []
    assert ingest_landing_files(where, "run-2").received == 2  # nothing was marked ingested


def test_replay_logs_to_object_storage(where: RunStores, bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Yesterday's contract wrongly refused app_open; today's replay rescues them and logs it as an object."""

    s3().pipe_file(f"{bucket}/landing/in.ndjson", b"\n".join(line(client_event("app_open")) for _ in range(2)) + b"\n")
    with monkeypatch.context() as patch:
        refuse_app_open(patch)
        assert ingest_landing_files(where, "run-1").dead_lettered == 2

    with warehouse.open_warehouse(where.warehouse) as opened:
        assert replay(opened, where.dead_letter_dir, "replay-1").rescued == 2
    log = s3().cat_file(f"{bucket}/dead_letter/replays/replay-1.ndjson").decode().splitlines()
    assert len(log) == 2
    assert {json.loads(entry)["replay_run_id"] for entry in log} == {"replay-1"}


def test_the_dagster_sensor_and_ingestion_job_use_object_storage(
    bucket: str, tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What production runs: the settings name the bucket, the sensor lists it, the job ingests from it."""
    from dagster import DagsterInstance, build_sensor_context

    from api.settings import load_settings
    from pipelines.definitions import defs, resources_for
    from pipelines.sensors import landing_files_sensor
    from tests.conftest import JWT_SECRET

    for name, value in {
        "PATRONAGE_DATA_DIR": str(tmp_path),
        "DATABASE_URL": database_url,
        "PATRONAGE_JWT_SECRET": JWT_SECRET,
        "PATRONAGE_LANDING_DIR": f"s3://{bucket}/landing",
        "PATRONAGE_DEAD_LETTER_DIR": f"s3://{bucket}/dead_letter",
    }.items():
        monkeypatch.setenv(name, value)
    load_settings.cache_clear()
    try:
        loaded = defs()
        context = build_sensor_context(resources=resources_for(load_settings()))
        assert next(iter(landing_files_sensor(context))).__class__.__name__ == "SkipReason"  # type: ignore[arg-type]
        s3().pipe_file(f"{bucket}/landing/day.ndjson", line(client_event()) + b"\n{nope\n")
        request = next(iter(landing_files_sensor(context)))  # type: ignore[arg-type]
        assert request.__class__.__name__ == "RunRequest"

        result = loaded.resolve_job_def("ingestion_job").execute_in_process(instance=DagsterInstance.ephemeral())
        assert result.success
        with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as connection:
            assert connection.execute("select count(*) from raw.events").fetchone() == (1,)
        assert len(s3().find(f"{bucket}/dead_letter")) == 1
    finally:
        load_settings.cache_clear()
