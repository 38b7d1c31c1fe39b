"""The one RFC 3339 rendering of an instant: UTC, millisecond precision, `Z` (event-contract-v1's `occurred_at`)."""

from __future__ import annotations

from datetime import UTC, datetime


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
