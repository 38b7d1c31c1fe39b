"""The registry: loaded and compiled once, one check per catalog event, the reason order of events.md."""

from __future__ import annotations

from collections.abc import Mapping

from event_contracts import (
    CONTRACT_VERSION,
    Reason,
    Violation,
    by_priority,
    contract_registry,
    load_registry,
    primary_reason,
    validate_event,
)
from event_contracts.schema_check import JsonObject, SchemaCheck, compile_schema_check
from tests.event_contracts.factories import client_event

SPEC_ORDER = [
    "malformed_json",
    "not_an_object",
    "size_violation",
    "unknown_event",
    "unsupported_schema_version",
    "schema_violation",
    "future_timestamp",
    "stale_event",
    "event_id_conflict",
]


def test_reason_codes_in_the_order_of_the_spec() -> None:
    assert [reason.value for reason in Reason] == SPEC_ORDER


def test_primary_reason_is_the_first_in_that_order() -> None:
    late = Violation(Reason.STALE_EVENT, "$.occurred_at", "old")
    schema = Violation(Reason.SCHEMA_VIOLATION, "$.platform", "bad")
    unknown = Violation(Reason.UNKNOWN_EVENT, "$.event_name", "unknown")
    assert primary_reason([late, schema, unknown]) is Reason.UNKNOWN_EVENT
    assert primary_reason([]) is None
    assert by_priority([late, schema, unknown, schema]) == [unknown, schema, schema, late]


def test_the_registry_is_compiled_once() -> None:
    assert contract_registry() is contract_registry()
    assert contract_registry().version == CONTRACT_VERSION == "1.0"


def test_one_compiled_check_per_catalog_event_plus_the_envelope() -> None:
    compiled: list[JsonObject] = []

    def recording(resources: Mapping[str, JsonObject], schema: JsonObject) -> SchemaCheck:
        compiled.append(schema)
        return compile_schema_check(resources, schema)

    registry = load_registry(recording)
    assert len(compiled) == len(registry.catalog) + 1 == 17
    assert set(registry.event_checks) == set(registry.catalog)


def test_an_injected_registry_is_the_one_used() -> None:
    def reject_everything(resources: Mapping[str, JsonObject], schema: JsonObject) -> SchemaCheck:
        return SchemaCheck(lambda document: [Violation(Reason.SCHEMA_VIOLATION, "$", "rejected")])

    assert validate_event(client_event()) == []
    assert validate_event(client_event(), registry=load_registry(reject_everything)) == [
        Violation(Reason.SCHEMA_VIOLATION, "$", "rejected")
    ]


def test_integer_properties_are_read_from_the_properties_schemas() -> None:
    integers = contract_registry().integer_properties
    assert set(integers) == set(contract_registry().catalog)
    assert integers["checkout_started"] == {"amount_minor"}
    assert integers["video_play"] == {"watch_ms", "bitrate_kbps", "bytes_delivered"}
    assert integers["feed_impression"] == {"position"}
    assert integers["app_open"] == frozenset()
