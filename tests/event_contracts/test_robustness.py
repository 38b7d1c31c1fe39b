"""Whatever JSON arrives, the validator answers with a list of violations and never raises."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from event_contracts import Reason, Violation, contract_registry, parse_line, timestamp_violations, validate_event
from tests.event_contracts.factories import client_event, server_event

RECEIVED_AT = datetime(2026, 11, 27, 10, tzinfo=UTC)
ENVELOPE_KEYS = sorted(json.loads(json.dumps(client_event())) | {"sent_at": None})
EVENT_NAMES = sorted(contract_registry().catalog)

json_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40)
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
# Documents that look like events often enough to reach the deep rules: envelope keys, catalog names, odd values.
keys = st.sampled_from([*ENVELOPE_KEYS, "amount_minor", "currency"]) | st.text(max_size=12)
values = json_values | st.sampled_from([*EVENT_NAMES, "1.0", "2.0", "1", "server", "ios", "2026-11-27T10:00:00Z"])
documents = st.dictionaries(keys, values, max_size=14)
mutations = st.dictionaries(st.sampled_from(ENVELOPE_KEYS), json_values, max_size=3)


def _assert_violations(result: Any) -> None:
    assert isinstance(result, list)
    assert all(isinstance(violation, Violation) and violation.path.startswith("$") for violation in result)
    ranks = [list(Reason).index(violation.reason) for violation in result]
    assert ranks == sorted(ranks)


@settings(max_examples=400, deadline=None)
@given(documents)
def test_random_documents_yield_violations(document: dict[str, Any]) -> None:
    _assert_violations(validate_event(document))
    _assert_violations(timestamp_violations(document, RECEIVED_AT))


@settings(max_examples=300, deadline=None)
@given(st.booleans(), mutations)
def test_mutated_events_yield_violations(server: bool, changes: dict[str, Any]) -> None:
    document = (server_event if server else client_event)(**changes)
    violations = validate_event(document)
    _assert_violations(violations)
    if not changes:
        assert violations == []


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_line_parses_to_an_object_or_a_violation(value: Any) -> None:
    document, violations = parse_line(json.dumps(value).encode())
    if isinstance(value, dict):
        assert (document, violations) == (value, [])
        _assert_violations(validate_event(value))
    else:
        assert document is None
        assert [violation.reason for violation in violations] == [Reason.NOT_AN_OBJECT]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_parse_without_raising(raw: bytes) -> None:
    document, violations = parse_line(raw)
    assert (document is None) == bool(violations)
    assert all(violation.reason in {Reason.MALFORMED_JSON, Reason.NOT_AN_OBJECT} for violation in violations)


@pytest.mark.parametrize(
    "properties",
    [{"source": "\ud800"}, {1: "feed"}, {"source": b"feed"}],
    ids=["lone-surrogate", "integer-key", "bytes"],
)
def test_a_document_that_is_not_json_shaped_is_a_violation_not_a_crash(properties: dict[Any, Any]) -> None:
    """parse_line never produces these; a caller building documents in Python might."""
    violations = validate_event(client_event(properties=properties))
    assert [(v.reason, v.path) for v in violations] == [(Reason.SCHEMA_VIOLATION, "$")]
    assert violations[0].message.startswith("not a JSON document")
