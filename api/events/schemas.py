"""Shapes of the events ingestion route."""

from __future__ import annotations

import msgspec

MAX_EVENTS_PER_BATCH = 500


class EventBatch(msgspec.Struct, forbid_unknown_fields=True):
    """Each element is kept as its original bytes: the pipeline validates, the API only lands."""

    events: list[msgspec.Raw]


class Accepted(msgspec.Struct):
    accepted: int
