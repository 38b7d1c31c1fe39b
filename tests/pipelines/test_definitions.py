"""The Dagster code location: it loads, every job resolves, and a materialization ingests, checks and alerts."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

import duckdb
import pytest
from dagster import DagsterInstance, build_sensor_context

from api.settings import load_settings
from pipelines.definitions import defs
from pipelines.sensors import landing_files_sensor
from tests.conftest import JWT_SECRET
from tests.pipelines.events import client_event, line


class Receiver(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        Receiver.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def ops_webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """A local HTTP receiver as PATRONAGE_OPS_WEBHOOK_URL; yields what it received."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    Receiver.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("PATRONAGE_OPS_WEBHOOK_URL", f"http://127.0.0.1:{server.server_address[1]}/alerts")
    load_settings.cache_clear()
    yield Receiver.received
    server.shutdown()


@pytest.fixture
def environment(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("PATRONAGE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("PATRONAGE_JWT_SECRET", JWT_SECRET)
    load_settings.cache_clear()
    (tmp_path / "landing").mkdir()
    yield tmp_path
    load_settings.cache_clear()


def test_every_job_resolves_and_the_definitions_load() -> None:
    assert {job.name for job in defs.resolve_all_job_defs()} >= {"ingestion_job", "dead_letter_replay_job"}
    assert defs.resolve_sensor_def("landing_files_sensor")
    assert defs.resolve_schedule_def("hourly_ingestion")


def test_materializing_ingests_checks_and_alerts_ops(environment: Path, ops_webhook: list[dict[str, Any]]) -> None:
    good = [line(client_event()) for _ in range(5)]
    (environment / "landing" / "day.ndjson").write_bytes(b"\n".join([*good, b"{broken"]) + b"\n")

    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(instance=DagsterInstance.ephemeral())
    assert result.success
    checks = {
        (
            e.asset_check_evaluation_data.asset_key.path[-1],
            e.asset_check_evaluation_data.check_name,
        ): e.asset_check_evaluation_data.passed
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }
    assert checks[("landing_file_events", "conservation")] is True
    assert checks[("landing_file_events", "dead_letter_rate")] is False  # 1 of 6 is over 1 %, and a new reason
    with duckdb.connect(str(environment / "warehouse.duckdb"), read_only=True) as connection:
        assert connection.execute("select count(*) from raw.events").fetchone() == (5,)
    (alert,) = ops_webhook
    assert alert["source"] == "landing_files"
    assert alert["top_reasons"][0]["reason_code"] == "malformed_json"
    assert alert["new_reasons"] == ["malformed_json"]
    assert alert["example_dead_letter_id"]


def _iterate(context: Any) -> Iterator[Any]:
    return cast(Iterator[Any], landing_files_sensor(context))


def evaluate(context: Any) -> Any:
    return next(_iterate(context))


def test_the_sensor_requests_a_run_only_for_new_files(environment: Path) -> None:
    context = build_sensor_context()
    assert evaluate(context).__class__.__name__ == "SkipReason"
    (environment / "landing" / "a.ndjson").write_bytes(line(client_event()) + b"\n")
    requests = list(_iterate(context))
    assert requests[0].__class__.__name__ == "RunRequest"
    context = build_sensor_context(cursor=requests[0].run_key)
    assert evaluate(context).__class__.__name__ == "SkipReason"


def test_the_replay_job_runs(environment: Path) -> None:
    (environment / "landing" / "bad.ndjson").write_bytes(b"{nope\n")
    assert defs.resolve_implicit_global_asset_job_def().execute_in_process(instance=DagsterInstance.ephemeral()).success
    result = defs.resolve_job_def("dead_letter_replay_job").execute_in_process(instance=DagsterInstance.ephemeral())
    assert result.success
    with duckdb.connect(str(environment / "warehouse.duckdb"), read_only=True) as connection:
        assert connection.execute(
            "select count(*) from marts.dead_letter_events where replayed_at is null"
        ).fetchone() == (1,)
