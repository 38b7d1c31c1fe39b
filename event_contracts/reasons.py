"""Dead-letter reason codes and the violations that carry them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Reason(StrEnum):
    """Reason codes in the priority order of event-contract-v1: a record's `reason_code` is the first one found."""

    MALFORMED_JSON = "malformed_json"
    NOT_AN_OBJECT = "not_an_object"
    SIZE_VIOLATION = "size_violation"
    UNKNOWN_EVENT = "unknown_event"
    UNSUPPORTED_SCHEMA_VERSION = "unsupported_schema_version"
    SCHEMA_VIOLATION = "schema_violation"
    FUTURE_TIMESTAMP = "future_timestamp"
    STALE_EVENT = "stale_event"
    EVENT_ID_CONFLICT = "event_id_conflict"


_PRIORITY = {reason: rank for rank, reason in enumerate(Reason)}


@dataclass(frozen=True, slots=True)
class Violation:
    """One thing wrong with an input line; `path` is a JSON path into the event (`$` for the whole line)."""

    reason: Reason
    path: str
    message: str


def by_priority(violations: Iterable[Violation]) -> list[Violation]:
    """Violations with the primary reason first; the order of discovery is kept within a reason."""
    return sorted(violations, key=lambda violation: _PRIORITY[violation.reason])


def primary_reason(violations: Iterable[Violation]) -> Reason | None:
    """The dead-letter `reason_code`: the highest-priority reason present, or None when there is none."""
    return min((violation.reason for violation in violations), key=_PRIORITY.__getitem__, default=None)
