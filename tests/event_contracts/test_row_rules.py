"""future_timestamp and stale_event, relative to the landing record's received_at."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from event_contracts import Reason, timestamp_violations
from event_contracts.row_rules import rfc3339_epoch_ns

RECEIVED_AT = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)


def _reasons(occurred_at: object, received_at: datetime = RECEIVED_AT) -> list[Reason]:
    return [violation.reason for violation in timestamp_violations({"occurred_at": occurred_at}, received_at)]


@pytest.mark.parametrize(
    ("occurred_at", "expected"),
    [
        ("2026-11-27T10:00:00Z", []),
        ("2026-11-28T10:00:00.000Z", []),  # exactly 24 h ahead
        ("2026-11-28T10:00:00.001Z", [Reason.FUTURE_TIMESTAMP]),  # 24 h + 1 ms
        ("2026-11-28T10:00:00.000000001Z", [Reason.FUTURE_TIMESTAMP]),  # 24 h + 1 ns
        ("2026-11-28T11:00:00.000+01:00", []),  # the same instant as 24 h ahead, in another offset
        ("2026-11-28T11:00:00.001+01:00", [Reason.FUTURE_TIMESTAMP]),
        ("2026-10-28T10:00:00.000Z", []),  # exactly 30 days back
        ("2026-10-28T09:59:59.999Z", [Reason.STALE_EVENT]),  # 30 days + 1 ms
        ("2026-10-28T05:00:00-05:00", []),  # 30 days back, written at -05:00
        ("2026-10-28T04:59:59.999-05:00", [Reason.STALE_EVENT]),
        ("0000-01-01T00:00:00Z", [Reason.STALE_EVENT]),
        ("9999-12-31T23:59:59Z", [Reason.FUTURE_TIMESTAMP]),
    ],
)
def test_boundaries(occurred_at: str, expected: list[Reason]) -> None:
    assert _reasons(occurred_at) == expected


def test_the_violation_points_at_occurred_at_and_says_how_far() -> None:
    [violation] = timestamp_violations({"occurred_at": "2026-11-29T10:00:00Z"}, RECEIVED_AT)
    assert violation.path == "$.occurred_at"
    assert "48.000 h" in violation.message


def test_received_at_in_another_zone_is_the_same_instant() -> None:
    berlin = RECEIVED_AT.astimezone(timezone(timedelta(hours=1)))
    assert _reasons("2026-11-28T10:00:00Z", berlin) == []
    assert _reasons("2026-11-28T10:00:00.001Z", berlin) == [Reason.FUTURE_TIMESTAMP]


def test_received_at_keeps_its_microseconds() -> None:
    received_at = RECEIVED_AT + timedelta(microseconds=1)
    assert _reasons("2026-11-28T10:00:00.000001Z", received_at) == []
    assert _reasons("2026-11-28T10:00:00.000002Z", received_at) == [Reason.FUTURE_TIMESTAMP]


def test_a_naive_received_at_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        timestamp_violations({"occurred_at": "2026-11-27T10:00:00Z"}, datetime(2026, 11, 27, 10))


@pytest.mark.parametrize("occurred_at", [None, 17, "yesterday", "2026-11-27T10:00:00", "2026-11-27"])
def test_an_unreadable_occurred_at_is_left_to_the_schema(occurred_at: object) -> None:
    assert _reasons(occurred_at) == []
    assert timestamp_violations({}, RECEIVED_AT) == []


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-27T10:00:00.123Z",
        "2026-11-27T11:00:00.123+01:00",
        "2026-11-27T04:30:00.123-05:30",
        "1970-01-01T00:00:00Z",
        "1969-12-31T23:59:59.5Z",
        "2024-02-29T12:00:00Z",
        "0001-01-01T00:00:00Z",
    ],
)
def test_epoch_nanoseconds_agree_with_datetime(text: str) -> None:
    expected = datetime.fromisoformat(text.replace("Z", "+00:00")) - datetime(1970, 1, 1, tzinfo=UTC)
    assert rfc3339_epoch_ns(text) == expected // timedelta(microseconds=1) * 1_000


def test_a_leap_second_is_one_second_after_fifty_nine() -> None:
    fifty_nine = rfc3339_epoch_ns("2016-12-31T23:59:59Z")
    assert fifty_nine is not None
    assert rfc3339_epoch_ns("2016-12-31T23:59:60Z") == fifty_nine + 1_000_000_000


@settings(max_examples=300, deadline=None)
@given(
    offset_ms=st.integers(min_value=-31 * 86_400_000, max_value=2 * 86_400_000),
    second=st.sampled_from(["", "60"]),
    zone=st.sampled_from(["Z", "z", "+00:00"]),
)
def test_the_millisecond_utc_shortcut_answers_as_the_general_rule(offset_ms: int, second: str, zone: str) -> None:
    """SDK timestamps (`…T12:00:00.123Z`) are decided by datetime in C; the answer is the general rule's, at the
    limits, past them, and for what datetime cannot parse (a leap second)."""
    moment = RECEIVED_AT + timedelta(milliseconds=offset_ms)
    text = moment.strftime("%Y-%m-%dT%H:%M:") + (second or moment.strftime("%S")) + f".{moment.microsecond // 1000:03d}"
    text += zone
    assert _reasons(text) == _reasons(text[: -len(zone)] + "+00:00")  # "+00:00" never takes the shortcut
    epoch_ms = rfc3339_epoch_ns(text)
    assert epoch_ms is not None
    ahead = epoch_ms - int(RECEIVED_AT.timestamp()) * 1_000_000_000
    expected = (
        [Reason.FUTURE_TIMESTAMP]
        if ahead > 86_400 * 10**9
        else [Reason.STALE_EVENT]
        if -ahead > 30 * 86_400 * 10**9
        else []
    )
    assert _reasons(text) == expected
