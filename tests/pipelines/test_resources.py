"""Ops alerts go through the notification queue, once per run and source; with the database out of
reach they go straight to the ops channel (webhook or dev sink), logged, never silently lost."""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path
from typing import Any

import pytest

from api.notifications.channels import DeliveryFailed
from pipelines.resources import OpsAlerts
from tests.pipelines.conftest import NotificationQueue
from tests.receivers import webhook_receiver

UNREACHABLE = "postgresql://nobody@127.0.0.1:1/none"


def an_alert(run_id: str = "run-1", source: str = "landing_files") -> dict[str, Any]:
    return {
        "kind": "dead_letter_alert",
        "summary": f"{source}: 1 of 6 events dead-lettered (16.67%, threshold 1.00%); top reason malformed_json",
        "run_id": run_id,
        "source": source,
        "dead_letter_rate": 1 / 6,
        "threshold": 0.01,
        "top_reasons": [{"reason_code": "malformed_json", "count": 1}],
        "new_reasons": ["malformed_json"],
        "example_dead_letter_id": "0b7f3f5e-4a8c-5d2b-9d35-0f4f6f3b8a11",
    }


def ops_alerts(data_dir: Path, webhook_url: str | None = None) -> OpsAlerts:
    return OpsAlerts(dev_sink=str(data_dir / "outbox" / "ops.jsonl"), webhook_url=webhook_url)


def test_an_alert_is_queued_once_per_run_and_source(
    tmp_path: Path, database_url: str, notification_queue: NotificationQueue
) -> None:
    alerts = ops_alerts(tmp_path)
    first = alerts.send(an_alert(), dedupe_key="run-1:landing_files", database_url=database_url)
    again = alerts.send(an_alert(), dedupe_key="run-1:landing_files", database_url=database_url)  # a re-run
    other = alerts.send(an_alert(source="event_landing"), dedupe_key="run-1:event_landing", database_url=database_url)

    assert (first, again, other) == ("queued for the ops channel", "already queued (not sent again)", first)
    queued = notification_queue.queued()
    assert sorted((q["event_type"], q["dedupe_key"], q["channel"], q["recipient_id"]) for q in queued) == [
        ("dead_letter_alert", "dead_letter_alert:run-1:event_landing", "ops", None),
        ("dead_letter_alert", "dead_letter_alert:run-1:landing_files", "ops", None),
    ]
    payload = next(q["payload"] for q in queued if q["dedupe_key"].endswith("landing_files"))
    assert payload == {"type": "dead_letter_alert", **{k: v for k, v in an_alert().items() if k != "kind"}}
    assert not (tmp_path / "outbox").exists()  # nothing sent around the queue


def test_an_unreachable_queue_sends_straight_to_the_ops_webhook(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with webhook_receiver() as receiver:
        alerts = ops_alerts(tmp_path, receiver.url + "/secret-token")
        with caplog.at_level(logging.WARNING, logger="pipelines.resources"):
            outcome = alerts.send(an_alert(), dedupe_key="run-1:landing_files", database_url=UNREACHABLE)
            alerts.send(an_alert(), dedupe_key="run-1:landing_files", database_url=UNREACHABLE)

    assert outcome == "sent directly to http://127.0.0.1 (notification queue unreachable)"
    first, second = receiver.received
    assert (first["event_type"], first["channel"]) == ("dead_letter_alert", "ops")
    assert first["data"]["top_reasons"] == [{"reason_code": "malformed_json", "count": 1}]
    assert first["data"]["example_dead_letter_id"] in first["text"]
    # The same delivery id (and Idempotency-Key) both times: the receiver drops the repeat.
    assert first["delivery_id"] == second["delivery_id"] == receiver.keys[0] == receiver.keys[1]
    assert first["delivery_id"] == str(
        uuid.uuid5(uuid.NAMESPACE_URL, "patronage:dead_letter_alert:run-1:landing_files")
    )
    (record,) = {r.getMessage() for r in caplog.records}
    assert "notification queue unreachable" in record
    assert "run-1:landing_files" in record
    assert "secret-token" not in record  # the webhook's path may be a credential


def test_without_a_webhook_the_fallback_is_the_ops_dev_sink(tmp_path: Path) -> None:
    outcome = ops_alerts(tmp_path).send(an_alert(), dedupe_key="run-1:landing_files", database_url=UNREACHABLE)
    sink = tmp_path / "outbox" / "ops.jsonl"
    assert outcome == f"sent directly to {sink} (notification queue unreachable)"
    (written,) = [json.loads(line) for line in sink.read_text().splitlines()]
    assert written["event_type"] == "dead_letter_alert"
    assert written["data"]["source"] == "landing_files"


def test_a_refused_fallback_fails_the_step(tmp_path: Path) -> None:
    with webhook_receiver(statuses=[503]) as receiver, pytest.raises(DeliveryFailed, match="503"):
        ops_alerts(tmp_path, receiver.url).send(an_alert(), dedupe_key="run-1:landing_files", database_url=UNREACHABLE)


def test_only_ops_notifications_are_alerts(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not an ops-only"):
        ops_alerts(tmp_path).send({**an_alert(), "kind": "payment_succeeded"}, dedupe_key="x", database_url=UNREACHABLE)
