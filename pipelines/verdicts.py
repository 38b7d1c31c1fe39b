"""The verdict on each landed line, computed where the CPU is: in worker processes, a chunk of lines at a time.

A line is either a dead letter (the contract, the row rules, or a client claiming a server event) or a candidate
for `raw.events`. Candidates leave Python once, as JSON lines of raw.events' columns in a spool file the warehouse
bulk-loads; what is a duplicate or an id conflict is decided afterwards by set operations in the warehouse
(pipelines/ingestion.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec

from dead_letter.store import DeadLetter
from event_contracts import (
    Reason,
    Violation,
    contract_registry,
    parse_line,
    primary_reason,
    timestamp_violations,
    validate_event,
)


class EventRow(msgspec.Struct, omit_defaults=False):
    """A candidate as the warehouse stores it: one JSON line of the spool, raw.events' columns by name."""

    event_id: str
    event_name: str
    schema_version: str
    occurred_at: str
    sent_at: str | None
    received_at: str
    platform: str
    app_version: str | None
    user_id: str | None
    anonymous_id: str | None
    session_id: str | None
    project_id: str | None
    properties: dict[str, Any]
    context: dict[str, Any] | None
    raw: str
    raw_sha256: str
    source: str
    source_ref: str
    run_id: str


_ENCODER = msgspec.json.Encoder()
_NO_INTEGERS: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Chunk:
    """Consecutive inputs of one source in processing order; `first_seq` numbers the first of them.

    `refs`, `received_at` and `from_client` hold one value per line, or one value for all: a file's lines share
    their received_at, and their refs are `path:line` from a first line number.
    """

    source: str
    first_seq: int
    raws: list[bytes]
    refs: list[str] | tuple[str, int]  # one ref per line, or (file path, number of the first line)
    received_at: list[datetime] | datetime
    from_client: list[bool] | bool = False
    strip_cr: bool = False  # a file's CRLF line ends: the CR is not part of the line


@dataclass(frozen=True)
class ChunkVerdicts:
    received: int
    spool: str | None  # the candidates' rows (EventRow per line); None when there is none
    dead: list[DeadLetter]  # in processing order


def _errors(violations: list[Violation]) -> list[dict[str, str]]:
    return [{"path": v.path, "message": v.message, "reason": v.reason} for v in violations]


def _server_event_from_client(document: dict[str, Any]) -> list[Violation]:
    """A client cannot report a payment or a refund: those come from the server's own transactions."""
    entry = contract_registry().catalog.get(str(document.get("event_name")))
    if entry is None or entry.emitted_by != "server":
        return []
    return [Violation(Reason.SCHEMA_VIOLATION, "$.event_name", f"{entry.event_name} is emitted by the server only")]


def line_violations(
    raw: bytes, received_at: datetime, from_client: bool
) -> tuple[dict[str, Any] | None, list[Violation]]:
    """The one validation path: the line's document and every violation found, the primary reason first."""
    document, violations = parse_line(raw)
    if document is not None:  # an oversized object too: `errors` lists every violation
        violations = violations + validate_event(document) + timestamp_violations(document, received_at)
        if from_client:
            violations += _server_event_from_client(document)
    return document, violations


def dead_letter(
    run_id: str, source: str, ref: str, received_at: datetime, raw: bytes, document: Any, violations: list[Violation]
) -> DeadLetter:
    reason = primary_reason(violations)
    assert reason is not None  # no document means parse_line said why
    event_id = document.get("event_id") if isinstance(document, dict) else None
    event_name = document.get("event_name") if isinstance(document, dict) else None
    return DeadLetter(
        run_id=run_id,
        source=source,
        source_ref=ref,
        received_at=received_at,
        reason_code=reason,
        errors=_errors(violations),
        raw=raw,
        event_id=event_id if isinstance(event_id, str) else None,
        event_name=event_name if isinstance(event_name, str) else None,
    )


def stored_properties(document: dict[str, Any], integers: frozenset[str]) -> dict[str, Any]:
    """The properties, an integer property sent as an integral float (`2500.0`) stored as the integer it is.

    JSON Schema's `integer` accepts `2500.0`; stored as sent, PostgreSQL refuses `'2500.0'::bigint` in the staging
    model. The raw line keeps the bytes as they were sent.
    """
    properties: dict[str, Any] = document["properties"]
    for name in integers:  # nearly every event has no float there: nothing is copied
        if type(properties.get(name)) is float:
            floats = {key: int(value) for key in integers if type(value := properties.get(key)) is float}
            return properties | floats
    return properties


def event_row(run_id: str, source: str, ref: str, received_at: str, raw: bytes, document: dict[str, Any]) -> EventRow:
    get = document.get
    integers = contract_registry().integer_properties.get(document["event_name"], _NO_INTEGERS)
    return EventRow(
        document["event_id"],
        document["event_name"],
        document["schema_version"],
        document["occurred_at"],
        get("sent_at"),
        received_at,
        document["platform"],
        get("app_version"),
        get("user_id"),
        get("anonymous_id"),
        get("session_id"),
        get("project_id"),
        stored_properties(document, integers),
        get("context"),
        raw.decode(),
        hashlib.sha256(raw).hexdigest(),
        source,
        ref,
        run_id,
    )


def judge_chunk(chunk: Chunk, run_id: str, spool_dir: str) -> ChunkVerdicts:
    """Every line's verdict: dead letters come back, candidates go to a spool file in `spool_dir`."""
    spool = bytearray()
    candidates = 0
    dead: list[DeadLetter] = []
    shared_received = chunk.received_at if isinstance(chunk.received_at, datetime) else None
    shared_text = shared_received.isoformat() if shared_received else ""
    for index, line in enumerate(chunk.raws):
        raw = line[:-1] if chunk.strip_cr and line.endswith(b"\r") else line
        received_at = shared_received or chunk.received_at[index]  # type: ignore[index]
        from_client = chunk.from_client if isinstance(chunk.from_client, bool) else chunk.from_client[index]
        ref = f"{chunk.refs[0]}:{chunk.refs[1] + index}" if isinstance(chunk.refs, tuple) else chunk.refs[index]
        document, violations = line_violations(raw, received_at, from_client)
        if violations or document is None:
            dead.append(dead_letter(run_id, chunk.source, ref, received_at, raw, document, violations))
            continue
        row = event_row(run_id, chunk.source, ref, shared_text or received_at.isoformat(), raw, document)
        _ENCODER.encode_into(row, spool, -1)
        spool += b"\n"
        candidates += 1
    path = None
    if candidates:
        path = str(Path(spool_dir) / f"events-{chunk.first_seq}.ndjson")
        Path(path).write_bytes(spool)
    return ChunkVerdicts(len(chunk.raws), path, dead)
