"""The Dagster code location: it loads, every job resolves, the dbt models show as the `analytics` group with their
dbt descriptions and owners, and a materialization ingests, checks and queues the ops alert that the worker delivers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import duckdb
import pytest
from dagster import DagsterInstance, build_sensor_context

from api.db.engine import Database
from api.notifications.channels import transports
from api.notifications.jobs import deliver_due
from api.settings import load_settings
from pipelines.assets.analytics import analytics_models, dbt_docs_site
from pipelines.definitions import defs, resources_for
from pipelines.project import prepare_manifest
from pipelines.sensors import landing_files_sensor
from tests.conftest import JWT_SECRET
from tests.pipelines.conftest import NotificationQueue
from tests.pipelines.events import client_event, line
from tests.receivers import WebhookReceiver, webhook_receiver


@pytest.fixture
def ops_webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[WebhookReceiver]:
    """A local HTTP receiver as PATRONAGE_OPS_WEBHOOK_URL."""
    with webhook_receiver() as receiver:
        monkeypatch.setenv("PATRONAGE_OPS_WEBHOOK_URL", receiver.url)
        load_settings.cache_clear()
        yield receiver


async def deliver_as_the_worker(database_url: str) -> int:
    """One step of `patronage worker`'s notifications loop."""
    db = Database.connect(database_url, pool_size=1)
    channels = transports(load_settings())
    try:
        return await deliver_due(db, channels, "test-worker", datetime.now(UTC))
    finally:
        for transport in channels.values():
            await transport.close()
        await db.dispose()


@pytest.fixture
def environment(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("PATRONAGE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("PATRONAGE_JWT_SECRET", JWT_SECRET)
    load_settings.cache_clear()
    (tmp_path / "landing").mkdir()
    yield tmp_path
    load_settings.cache_clear()


def test_every_job_resolves_and_the_definitions_load(environment: Path) -> None:
    loaded = defs()
    assert {job.name for job in loaded.resolve_all_job_defs()} >= {"ingestion_job", "dead_letter_replay_job"}
    assert loaded.resolve_sensor_def("landing_files_sensor")
    assert loaded.resolve_schedule_def("hourly_ingestion")


def test_the_dbt_models_are_the_analytics_group_described_and_owned_as_dbt_says(environment: Path) -> None:
    manifest = json.loads(prepare_manifest().read_text())
    nodes = {uid: node for uid, node in manifest["nodes"].items() if node["resource_type"] in ("model", "seed")}
    specs = {spec.metadata["dagster_dbt/unique_id"]: spec for spec in analytics_models.specs}
    assert set(specs) == set(nodes)
    for unique_id, spec in specs.items():
        node = nodes[unique_id]
        assert spec.group_name == "analytics", unique_id
        assert node["description"].strip(), f"{unique_id} has no description"
        assert spec.description is not None
        assert spec.description.startswith(node["description"]), unique_id
        assert list(spec.owners) == node["config"]["meta"]["dagster"]["owners"], unique_id
    owners = {spec.metadata["dagster_dbt/unique_id"].split(".")[-1]: list(spec.owners) for spec in specs.values()}
    assert owners["reconciliation_daily"] == owners["stg_journal_lines"] == ["team:finance"]
    assert owners["kpi_daily"] == owners["bitrate_guardrail_state"] == ["team:data"]

    # Every dbt test on a model or seed stays an asset check of it.
    checks = {check.metadata["dagster_dbt/unique_id"] for check in analytics_models.check_specs}
    tests = {uid for uid, node in manifest["nodes"].items() if node.get("attached_node") in nodes}
    assert tests
    assert tests <= checks

    (docs,) = dbt_docs_site.specs
    assert (docs.group_name, list(docs.owners)) == ("analytics", ["team:data"])
    assert docs.description
    assert {spec.group_name for spec in defs().resolve_all_asset_specs()}.isdisjoint({"default"})


def test_materializing_ingests_checks_and_queues_the_ops_alert(
    environment: Path, database_url: str, ops_webhook: WebhookReceiver, notification_queue: NotificationQueue
) -> None:
    good = [line(client_event()) for _ in range(5)]
    (environment / "landing" / "day.ndjson").write_bytes(b"\n".join([*good, b"{broken"]) + b"\n")

    result = defs().resolve_implicit_global_asset_job_def().execute_in_process(instance=DagsterInstance.ephemeral())
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

    # The alert is in the notification queue, for the ops channel only; nothing went out directly.
    (queued,) = notification_queue.queued()
    assert queued["event_type"] == "dead_letter_alert"
    assert queued["dedupe_key"] == f"dead_letter_alert:{result.run_id}:landing_files"
    assert (queued["channel"], queued["recipient_id"], queued["status"]) == ("ops", None, "pending")
    assert not ops_webhook.received

    # The worker's notifications loop delivers it to PATRONAGE_OPS_WEBHOOK_URL.
    assert asyncio.run(deliver_as_the_worker(database_url)) == 1
    (sent,) = ops_webhook.received
    alert = sent["data"]
    assert sent["event_type"] == "dead_letter_alert"
    assert alert["source"] == "landing_files"
    assert alert["top_reasons"][0]["reason_code"] == "malformed_json"
    assert alert["new_reasons"] == ["malformed_json"]
    assert alert["example_dead_letter_id"]
    assert "malformed_json (1)" in sent["text"]
    assert alert["example_dead_letter_id"] in sent["text"]
    assert notification_queue.queued()[0]["status"] == "delivered"


def _iterate(context: Any) -> Iterator[Any]:
    return cast(Iterator[Any], landing_files_sensor(context))


def evaluate(context: Any) -> Any:
    return next(_iterate(context))


def test_the_sensor_requests_a_run_only_for_new_files(environment: Path) -> None:
    context = build_sensor_context(resources=resources_for(load_settings()))
    assert evaluate(context).__class__.__name__ == "SkipReason"
    (environment / "landing" / "a.ndjson").write_bytes(line(client_event()) + b"\n")
    requests = list(_iterate(context))
    assert requests[0].__class__.__name__ == "RunRequest"
    context = build_sensor_context(cursor=requests[0].run_key, resources=resources_for(load_settings()))
    assert evaluate(context).__class__.__name__ == "SkipReason"


def test_the_replay_job_runs(environment: Path, notification_queue: NotificationQueue) -> None:
    (environment / "landing" / "bad.ndjson").write_bytes(b"{nope\n")
    loaded = defs()
    ingestion = loaded.resolve_implicit_global_asset_job_def().execute_in_process(instance=DagsterInstance.ephemeral())
    assert ingestion.success
    result = loaded.resolve_job_def("dead_letter_replay_job").execute_in_process(instance=DagsterInstance.ephemeral())
    assert result.success
    with duckdb.connect(str(environment / "warehouse.duckdb"), read_only=True) as connection:
        assert connection.execute(
            "select count(*) from marts.dead_letter_events where replayed_at is null"
        ).fetchone() == (1,)
