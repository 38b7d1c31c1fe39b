"""The API's server events (api/events/landing.py) validate against the contract, as the pipeline will see them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from api.events.landing import server_event
from event_contracts import Reason, contract_registry, parse_line, primary_reason, validate_event

SUPPORT_ID = uuid.UUID("8d0f6a4c-2b1e-4c3d-9e5f-6a7b8c9d0e1f")
DISPUTE_ID = uuid.UUID("3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f")
# Shaped like the calls in api/supports, api/disputes and api/payments.
PROPERTIES: dict[str, dict[str, Any]] = {
    "payment_succeeded": {
        "support_id": str(SUPPORT_ID),
        "amount_minor": 2500,
        "currency": "EUR",
        "payment_intent_id": "pi_3QhX2aLkdIwHu7ix0bVq9Jm1",
    },
    "support_prepared": {
        "support_id": str(SUPPORT_ID),
        "amount_minor": 2500,
        "currency": "EUR",
        "reward_type": "physical",
    },
    "payment_failed": {"support_id": str(SUPPORT_ID), "failure_code": "card_declined"},
    "support_canceled": {"support_id": str(SUPPORT_ID)},
    "refund_issued": {"support_id": str(SUPPORT_ID), "amount_minor": 1000, "currency": "EUR"},
    "dispute_opened": {
        "dispute_id": str(DISPUTE_ID),
        "support_id": str(SUPPORT_ID),
        "amount_minor": 2500,
        "currency": "EUR",
    },
    "dispute_closed": {"dispute_id": str(DISPUTE_ID), "outcome": "won"},
    "payout_released": {"payout_id": str(uuid.uuid4()), "amount_minor": 227_500, "currency": "EUR"},
}


def _server_event(name: str, **changes: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "cause": f"{SUPPORT_ID}:1",
        "occurred_at": datetime(2026, 11, 27, 10, 0, 0, 123456, tzinfo=UTC),
        "user_id": uuid.uuid4(),
        "project_id": uuid.uuid4(),
        "properties": PROPERTIES[name],
    } | changes
    return server_event(name, **arguments)


def test_the_fixture_covers_every_server_event_of_the_catalog() -> None:
    server_events = {name for name, entry in contract_registry().catalog.items() if entry.emitted_by == "server"}
    assert set(PROPERTIES) == server_events


@pytest.mark.parametrize("name", sorted(PROPERTIES))
def test_server_event_validates(name: str) -> None:
    assert validate_event(_server_event(name)) == []


@pytest.mark.parametrize("name", sorted(PROPERTIES))
def test_server_event_validates_as_landed(name: str) -> None:
    """`land_server_event` stores msgspec's encoding; the pipeline reads those bytes back through parse_line."""
    document, violations = parse_line(msgspec.json.encode(_server_event(name)))
    assert violations == []
    assert document is not None
    assert validate_event(document) == []


def test_a_payment_failure_without_a_code_validates() -> None:
    assert validate_event(_server_event("payment_failed", properties={"support_id": str(SUPPORT_ID)})) == []


def test_a_server_event_without_a_user_is_rejected() -> None:
    """server_event writes user_id null when there is no user and sends no anonymous_id: the contract needs one."""
    event = _server_event("payout_released", user_id=None)
    assert primary_reason(validate_event(event)) is Reason.SCHEMA_VIOLATION


def test_a_server_event_without_a_project_is_rejected() -> None:
    violations = validate_event(_server_event("support_canceled", project_id=None))
    assert [(v.reason, v.path) for v in violations] == [(Reason.SCHEMA_VIOLATION, "$.project_id")]
