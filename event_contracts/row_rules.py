"""Row rules relative to the landing record's `received_at`: events from too far in the future or the past."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from event_contracts.reasons import Reason, Violation

FUTURE_LIMIT = timedelta(hours=24)
STALE_LIMIT = timedelta(days=30)
_NS_PER_SECOND = 1_000_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
    r"(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))"
)


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant), for any year, without datetime limits."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month - 3 if month > 2 else month + 9) + 2) // 5 + day - 1
    return era * 146_097 + year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year - 719_468


def rfc3339_epoch_ns(text: str) -> int | None:
    """Nanoseconds since the epoch of an RFC 3339 date-time with offset (a leap second counts as :59 + 1 s)."""
    match = _RFC3339.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.group(1, 2, 3, 4, 5, 6))
    fraction, sign, offset_hours, offset_minutes = match.group(7, 8, 9, 10)
    seconds = _days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second
    if sign:
        offset = int(offset_hours) * 3_600 + int(offset_minutes) * 60
        seconds -= offset if sign == "+" else -offset
    return seconds * _NS_PER_SECOND + int((fraction or "").ljust(9, "0")[:9])


def _epoch_ns(moment: datetime) -> int:
    if moment.utcoffset() is None:
        raise ValueError("received_at must be timezone-aware")
    return (moment - _EPOCH) // timedelta(microseconds=1) * 1_000


def within_limits_fast(occurred_at: str, received_at: datetime) -> bool:
    """True when a millisecond UTC timestamp (`2026-11-27T12:00:00.123Z`, what the SDKs send) is within both limits.

    False means "not decided here": any other shape, an impossible date, or a violation (whose message needs the exact
    distance) goes the general way. datetime parses and subtracts in C; the general way costs ten times as much.
    """
    if len(occurred_at) != 24 or occurred_at[23] not in "Zz" or occurred_at[19] != "." or occurred_at[10] not in "Tt":
        return False
    try:
        ahead = datetime.fromisoformat(occurred_at[:23] + "+00:00") - received_at
    except (ValueError, TypeError):  # an impossible date or a leap second; a naive received_at
        return False
    return -STALE_LIMIT <= ahead <= FUTURE_LIMIT


def timestamp_violations(document: Mapping[str, Any], received_at: datetime) -> list[Violation]:
    """`future_timestamp` beyond 24 h after `received_at`, `stale_event` beyond 30 days before it; exact limits pass.

    An `occurred_at` that is missing or not RFC 3339 is the envelope schema's to report, so it yields nothing here.
    """
    occurred_at = document.get("occurred_at")
    if type(occurred_at) is str and within_limits_fast(occurred_at, received_at):
        return []
    occurred_ns = rfc3339_epoch_ns(occurred_at) if isinstance(occurred_at, str) else None
    if occurred_ns is None:
        return []
    ahead_ns = occurred_ns - _epoch_ns(received_at)
    if ahead_ns > FUTURE_LIMIT // timedelta(microseconds=1) * 1_000:
        received = received_at.isoformat()
        message = f"occurred {ahead_ns / 3.6e12:.3f} h after it was received ({received}); the limit is 24 h"
        return [Violation(Reason.FUTURE_TIMESTAMP, "$.occurred_at", message)]
    if -ahead_ns > STALE_LIMIT // timedelta(microseconds=1) * 1_000:
        received = received_at.isoformat()
        message = f"occurred {-ahead_ns / 8.64e13:.3f} days before it was received ({received}); the limit is 30 days"
        return [Violation(Reason.STALE_EVENT, "$.occurred_at", message)]
    return []
