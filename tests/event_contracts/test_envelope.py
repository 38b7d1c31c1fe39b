"""The envelope rules of event-contract-v1 and the catalog's per-event rules."""

from __future__ import annotations

from typing import Any

import pytest

from event_contracts import Reason, Violation, primary_reason, validate_event
from tests.event_contracts.factories import client_event, server_event, without


def _paths(event: dict[str, Any], reason: Reason = Reason.SCHEMA_VIOLATION) -> set[str]:
    return {violation.path for violation in validate_event(event) if violation.reason is reason}


def test_the_starting_points_are_valid() -> None:
    assert validate_event(client_event()) == []
    assert validate_event(server_event()) == []


@pytest.mark.parametrize("missing", [("session_id",), ("app_version",), ("session_id", "app_version")])
def test_server_events_may_omit_session_and_app_version(missing: tuple[str, ...]) -> None:
    assert validate_event(without(server_event(), *missing)) == []
    assert validate_event(server_event(**dict.fromkeys(missing))) == []


@pytest.mark.parametrize("missing", ["session_id", "app_version"])
def test_client_events_may_not(missing: str) -> None:
    assert _paths(without(client_event(), missing)) == {f"$.{missing}"}
    assert _paths(client_event(**{missing: None})) == {f"$.{missing}"}


@pytest.mark.parametrize("platform", ["ios", "android", "web"])
def test_every_client_platform_needs_a_session(platform: str) -> None:
    assert validate_event(client_event(platform=platform)) == []
    assert _paths(without(client_event(platform=platform), "session_id")) == {"$.session_id"}


def test_a_client_event_cannot_escape_the_client_rules_by_claiming_the_server_platform() -> None:
    assert _paths(without(client_event(platform="server"), "session_id", "app_version")) == {"$.platform"}


def test_a_server_event_must_come_from_the_server_platform() -> None:
    violations = validate_event(server_event(platform="web", app_version="1.0.0", session_id="s"))
    assert [(v.reason, v.path) for v in violations] == [(Reason.SCHEMA_VIOLATION, "$.platform")]
    assert "support_canceled is emitted by the server" in violations[0].message


@pytest.mark.parametrize(
    "identity",
    [
        {"user_id": None, "anonymous_id": None},
        {"user_id": None},
        {"anonymous_id": None},
        {},
    ],
)
def test_neither_user_id_nor_anonymous_id_is_a_violation(identity: dict[str, None]) -> None:
    event = without(client_event(), "user_id", "anonymous_id") | identity
    violations = validate_event(event)
    assert [(v.reason, v.path) for v in violations] == [(Reason.SCHEMA_VIOLATION, "$")]
    assert "user_id" in violations[0].message


def test_either_identity_alone_is_enough() -> None:
    assert validate_event(client_event(user_id=None, anonymous_id="anon-1")) == []
    assert validate_event(without(client_event(anonymous_id="anon-1"), "user_id")) == []
    assert validate_event(without(client_event(), "anonymous_id")) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("user_id", "user-42"),
        ("user_id", 42),
        ("anonymous_id", ""),
        ("anonymous_id", "a" * 65),
        ("session_id", ""),
        ("session_id", "s" * 65),
        ("project_id", "p-1"),
        ("event_id", "6f1c1f7e7d0c4a579d385f8f3b0c2a11"),
        ("event_id", "{6f1c1f7e-7d0c-4a57-9d38-5f8f3b0c2a11}"),
        ("platform", "tvos"),
        ("app_version", "3.14"),
        ("app_version", "v3.14.0"),
        ("properties", None),
        ("context", "iPhone"),
        ("event_name", 7),
    ],
)
def test_envelope_field_types(field: str, value: object) -> None:
    assert _paths(client_event(**{field: value})) == {f"$.{field}"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("anonymous_id", "a" * 64),
        ("session_id", "é" * 64),
        ("event_id", "00000000-0000-0000-0000-000000000000"),
        ("event_id", "6F1C1F7E-7D0C-4A57-9D38-5F8F3B0C2A11"),
        ("event_id", "01936f5e-0b7c-7c4a-9d38-5f8f3b0c2a11"),
        ("app_version", "3.14.0-rc.1"),
        ("app_version", "3.14.0+418"),
        ("context", {}),
    ],
)
def test_envelope_values_at_the_edges_pass(field: str, value: object) -> None:
    assert validate_event(client_event(**{field: value})) == []


def test_an_extra_top_level_key_is_a_violation_at_its_path() -> None:
    violations = validate_event(client_event(received_at="2026-11-27T10:00:00Z", **{"user-agent": "x"}))
    assert [(v.reason, v.path) for v in violations] == [
        (Reason.SCHEMA_VIOLATION, "$.received_at"),
        (Reason.SCHEMA_VIOLATION, '$["user-agent"]'),
    ]


def test_extra_property_keys_are_allowed_but_declared_ones_type_check() -> None:
    assert validate_event(client_event(properties={"source": "feed", "experiment": "b"})) == []
    assert _paths(client_event(properties={"source": 3})) == {"$.properties.source"}
    assert _paths(client_event(properties={})) == {"$.properties.source"}


@pytest.mark.parametrize("field", ["event_id", "event_name", "schema_version", "occurred_at", "platform", "properties"])
def test_required_envelope_fields(field: str) -> None:
    assert f"$.{field}" in _paths(without(client_event(), field))


@pytest.mark.parametrize(
    "timestamp",
    [
        "2026-11-27T10:00:00.123",
        "2026-11-27T10:00:00",
        "2026-11-27T10:00:00+0100",
        "2026-11-27T10:00:00+01",
        "2026-11-27T10:00:00 +01:00",
        "2026-11-27 10:00:00Z",
        "2026-11-27T10:00:00+24:00",
        "2026-11-27",
        "2026-02-30T10:00:00Z",
        "1764237600",
    ],
)
def test_timestamps_need_rfc3339_with_an_offset(timestamp: str) -> None:
    assert _paths(client_event(occurred_at=timestamp)) == {"$.occurred_at"}
    assert _paths(client_event(sent_at=timestamp)) == {"$.sent_at"}


@pytest.mark.parametrize(
    "timestamp",
    ["2026-11-27T10:00:00Z", "2026-11-27T11:00:00.5+01:00", "2026-11-27T05:30:00.123456-04:30", "2026-11-27T10:00:00z"],
)
def test_timestamps_with_an_offset_pass(timestamp: str) -> None:
    assert validate_event(client_event(occurred_at=timestamp, sent_at=timestamp)) == []


def test_sent_at_is_optional_but_not_nullable() -> None:
    assert validate_event(without(client_event(), "sent_at")) == []
    assert _paths(client_event(sent_at=None)) == {"$.sent_at"}


@pytest.mark.parametrize("version", ["1.0", "1.3", "1.42"])
def test_any_v1_minor_version_is_accepted(version: str) -> None:
    assert validate_event(client_event(schema_version=version)) == []


@pytest.mark.parametrize("version", ["2.0", "0.9", "10.1", "01.0"])
def test_another_major_is_unsupported(version: str) -> None:
    violations = validate_event(client_event(schema_version=version))
    assert violations == [
        Violation(
            Reason.UNSUPPORTED_SCHEMA_VERSION,
            "$.schema_version",
            f"schema version {version} is not supported: this pipeline validates 1.x",
        )
    ]


@pytest.mark.parametrize("version", ["1", "v1.0", "1.0.0", "1.", ".1", "", "1.x", "\u0661.\u0660"])
def test_a_version_that_is_not_major_minor_is_a_schema_violation(version: str) -> None:
    violations = validate_event(client_event(schema_version=version))
    assert [(v.reason, v.path) for v in violations] == [(Reason.SCHEMA_VIOLATION, "$.schema_version")]


def test_a_numeric_schema_version_is_a_schema_violation() -> None:
    assert _paths(client_event(schema_version=1.0)) == {"$.schema_version"}


def test_an_unknown_event_is_named_as_such_and_its_envelope_still_checked() -> None:
    violations = validate_event(without(client_event(event_name="project_viewed"), "session_id"))
    assert [(v.reason, v.path) for v in violations] == [
        (Reason.UNKNOWN_EVENT, "$.event_name"),
        (Reason.SCHEMA_VIOLATION, "$.session_id"),
    ]


def test_unknown_event_outranks_the_version_and_the_schema() -> None:
    event = without(client_event(event_name="", schema_version="2.0"), "platform")
    assert [(v.reason, v.path) for v in validate_event(event)] == [
        (Reason.UNKNOWN_EVENT, "$.event_name"),
        (Reason.UNSUPPORTED_SCHEMA_VERSION, "$.schema_version"),
        (Reason.SCHEMA_VIOLATION, "$.platform"),
    ]


@pytest.mark.parametrize("event_name", ["app_open", "notification_opened"])
def test_project_id_is_optional_where_the_catalog_says_no(event_name: str) -> None:
    properties = {"launch": "warm"} if event_name == "app_open" else {"notification_id": "n-1", "channel": "push"}
    event = client_event(event_name=event_name, properties=properties)
    assert validate_event(without(event, "project_id")) == []
    assert validate_event(event | {"project_id": None}) == []
    assert validate_event(event) == []


@pytest.mark.parametrize("change", [{"project_id": None}, {}])
def test_project_id_is_required_where_the_catalog_says_yes(change: dict[str, None]) -> None:
    event = without(client_event(), "project_id") | change
    violations = validate_event(event)
    assert [(v.reason, v.path) for v in violations] == [(Reason.SCHEMA_VIOLATION, "$.project_id")]
    assert "project_view requires a project_id" in violations[0].message


def test_messages_quote_at_most_an_excerpt_of_a_huge_value() -> None:
    violations = validate_event(client_event(session_id="s" * 20_000, event_name="x" * 20_000))
    assert primary_reason(violations) is Reason.UNKNOWN_EVENT
    assert {v.path for v in violations} == {"$.event_name", "$.session_id"}
    assert all(len(v.message) < 400 for v in violations)
