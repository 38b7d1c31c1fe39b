"""Valid event-contract-v1 events for pipeline tests."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api.timestamps import rfc3339
from event_contracts import Reason, Violation, contract_registry, validation
from event_contracts.schema_check import SchemaCheck
from pipelines import verdicts


def refuse_app_open(patch: pytest.MonkeyPatch) -> None:
    """Yesterday's buggy contract: the current one, but app_open events wrongly refused (by their compiled check,
    which every path of the validation asks)."""
    current = contract_registry()
    check = current.event_checks["app_open"]

    def refusing(document: object) -> list[Violation]:
        return [*check.violations(document), Violation(Reason.SCHEMA_VIOLATION, "$.properties.launch", "buggy rule")]

    buggy = dataclasses.replace(current, event_checks={**current.event_checks, "app_open": SchemaCheck(refusing)})
    patch.setattr(validation, "contract_registry", lambda: buggy)
    patch.setattr(verdicts, "contract_registry", lambda: buggy)


def client_event(name: str = "project_view", *, occurred_at: datetime | None = None, **changes: Any) -> dict[str, Any]:
    catalog: dict[str, dict[str, Any]] = {
        "app_open": {"launch": "cold"},
        "feed_impression": {"position": 3},
        "project_view": {"source": "feed"},
        "support_cta_tap": {},
    }
    properties = catalog[name]
    event: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "event_name": name,
        "schema_version": "1.0",
        "occurred_at": rfc3339(occurred_at or datetime.now(UTC) - timedelta(minutes=5)),
        "platform": "ios",
        "app_version": "2.3.0",
        "user_id": None,
        "anonymous_id": "device-" + uuid.uuid4().hex[:8],
        "session_id": "s-" + uuid.uuid4().hex[:8],
        "project_id": None if name == "app_open" else str(uuid.uuid4()),
        "properties": properties,
    }
    event.update(changes)
    return event


def line(event: dict[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":")).encode()


async def post_mixed_batch(client: Any, headers: dict[str, str]) -> list[dict[str, Any]]:
    """POST /v1/events with 3 valid events, one element that is not an event and a repeat of the first (5
    landed: 3 accepted, 1 duplicate, 1 dead letter once ingested); returns the valid events."""
    good = [client_event() for _ in range(3)]
    batch = b'{"events": [' + b",".join([*map(line, good), b'"not an event"', line(good[0])]) + b"]}"
    response = await client.post("/v1/events", content=batch, headers={**headers, "Content-Type": "application/json"})
    assert response.status_code == 202, response.text
    return good
