"""The verdict on each landed line, computed where the CPU is: in worker processes, a chunk of lines at a time.

A line is either a dead letter (the contract, the row rules, or a client claiming a server event) or a candidate
for `raw.events`. Candidates leave Python once, as rows of raw.events' columns in a spool file the warehouse
bulk-loads, in the format its adapter reads fastest (`Warehouse.bulk_format`: JSON lines by column name, or CSV in
the columns' order); what is a duplicate or an id conflict is decided afterwards by set operations in the warehouse
(pipelines/ingestion.py).
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import msgspec

from dead_letter.store import DeadLetter
from event_contracts import (
    MAX_LINE_BYTES,
    Reason,
    Violation,
    contract_registry,
    parse_line,
    primary_reason,
    timestamp_violations,
    validate_event,
)
from event_contracts.row_rules import within_limits_fast
from event_contracts.validation import SUPPORTED_MAJOR
from stores.warehouse.port import EVENT_COLUMNS, storable

_ENCODER = msgspec.json.Encoder()


@dataclass(frozen=True)
class FileLines:
    """`lines` whole lines of a local file, `length` bytes from `offset`, read by the worker that judges them: only
    where they are crosses from the pipeline's process to the worker, not the lines themselves."""

    path: str
    offset: int
    length: int
    lines: int

    def __len__(self) -> int:
        return self.lines

    def read(self) -> list[bytes]:
        with open(self.path, "rb") as stream:
            data = os.pread(stream.fileno(), self.length, self.offset)
        lines = data.split(b"\n")
        if data.endswith(b"\n"):  # a line break ends a line; it does not start another
            lines.pop()
        if len(data) != self.length or len(lines) != self.lines:
            raise RuntimeError(f"{self.path} changed while it was ingested")
        return lines


@dataclass(frozen=True)
class Chunk:
    """Consecutive inputs of one source in processing order; `first_seq` numbers the first of them.

    `refs`, `received_at` and `from_client` hold one value per line, or one value for all: a file's lines share
    their received_at, and their refs are `path:line` from a first line number.
    """

    source: str
    first_seq: int
    raws: list[bytes] | FileLines
    refs: list[str] | tuple[str, int]  # one ref per line, or (file path, number of the first line)
    received_at: list[datetime] | datetime
    from_client: list[bool] | bool = False
    strip_cr: bool = False  # a file's CRLF line ends: the CR is not part of the line


@dataclass(frozen=True)
class ChunkVerdicts:
    received: int
    spool: str | None  # the candidates' rows (JSON lines, raw.events' columns by name); None when there is none
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


_DECODER = msgspec.json.Decoder()
_SUPPORTED_VERSION = f"{SUPPORTED_MAJOR}."


@cache
def _server_events() -> frozenset[str]:
    return frozenset(name for name, entry in contract_registry().catalog.items() if entry.emitted_by == "server")


# raw.events' columns that the landing gives, not the event: a CSV row ends with them, in this order.
LANDING_COLUMNS = ("received_at", "raw", "raw_sha256", "source", "source_ref", "run_id")
_CONTROL = re.compile(r"[\x00-\x1f]")


def csv_text(text: str) -> str:
    """A text field in the bulk CSV dialect (stores/warehouse/port.py, BULK_CSV): quoted, `\\` and `"` escaped
    by a backslash; a line break, a `\\.` or a comma inside stays data."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


_NUL_ESCAPE = b"\\u0000"


def judge_chunk(chunk: Chunk, run_id: str, spool_dir: str, csv_columns: tuple[str, ...] = ()) -> ChunkVerdicts:
    """Every line's verdict: dead letters come back, candidates go to a spool file in `spool_dir`: JSON lines, or
    with `csv_columns` (the event's own columns) CSV rows of those columns followed by LANDING_COLUMNS.

    Most lines are valid, and for them the loop below asks the contract's own checks directly: decoded, under the
    size limit, an event of the catalog in a supported version that its compiled schema accepts, within the
    timestamp limits, not a server event from a client. That is every rule `line_violations` applies, so what
    passes here it accepts too; any other line goes through `line_violations`, which says what is wrong (or accepts
    it: a timestamp with an offset, say).
    """
    registry = contract_registry()
    valid = {name: check.is_valid for name, check in registry.event_checks.items()}
    integers, server_only = registry.integer_properties, _server_events()
    decode, encode = _DECODER.decode, _ENCODER.encode
    spool = bytearray()
    candidates = 0
    dead: list[DeadLetter] = []
    shared_received = chunk.received_at if isinstance(chunk.received_at, datetime) else None
    shared_text = shared_received.isoformat() if shared_received else ""
    shared_client = chunk.from_client if isinstance(chunk.from_client, bool) else None
    refs, (path, first_line) = (None, chunk.refs) if isinstance(chunk.refs, tuple) else (chunk.refs, ("", 0))
    source, strip_cr = chunk.source, chunk.strip_cr
    source_field, run_field = csv_text(source), csv_text(run_id)
    json_positions = [position for position, name in enumerate(csv_columns) if EVENT_COLUMNS[name] == "json"]
    plain_text = bool(csv_columns) and not _CONTROL.search("".join((source, run_id, path, *(refs or ()))))
    raws = chunk.raws if isinstance(chunk.raws, list) else chunk.raws.read()
    # Bytes are looked for in the whole chunk at once, then only in the lines of a chunk that holds them: a search
    # costs about 0.6 µs a line whatever it finds (bench/README.md).
    text = b"\n".join(raws)
    nul_escaped = b"\\" in text and _NUL_ESCAPE in text  # U+0000, escaped, may be in a line
    plain_chunk = (  # no line holds a backslash, a tab, a CR or a line break: see `plain_text` below
        plain_text
        and b"\\" not in text
        and b"\t" not in text
        and b"\r" not in text
        and text.count(b"\n") == len(raws) - 1
    )
    for index, line in enumerate(raws):
        raw = line[:-1] if strip_cr and line.endswith(b"\r") else line
        received_at = shared_received or chunk.received_at[index]  # type: ignore[index]
        from_client = chunk.from_client[index] if shared_client is None else shared_client  # type: ignore[index]
        ref = f"{path}:{first_line + index}" if refs is None else refs[index]
        # Surely valid? (Inline: a call per line would cost 6 % of the judging.) Decoded, valid against its schema,
        # schema_version MAJOR.MINOR, occurred_at within the limits, not a server event from a client; a document
        # jsonschema-rs cannot read (ValueError) is a violation, which the exact way reports. Anything else asks
        # `line_violations`.
        document: Any = None
        try:
            document = decode(raw) if len(raw) <= MAX_LINE_BYTES else None
            name = document.get("event_name") if type(document) is dict else None
            surely_valid = (
                type(name) is str
                and name in valid
                and not (from_client and name in server_only)
                and valid[name](document)
                and str(document["schema_version"]).startswith(_SUPPORTED_VERSION)
                and within_limits_fast(document["occurred_at"], received_at)
            )
        except (msgspec.MsgspecError, UnicodeDecodeError, RecursionError, ValueError):
            surely_valid = False
        if not surely_valid:
            document, violations = line_violations(raw, received_at, from_client)
            if violations or document is None:
                dead.append(dead_letter(run_id, source, ref, received_at, raw, document, violations))
                continue
        # The candidate's row is the document itself with its landing columns (raw.events' names, absent = null).
        if nul_escaped and _NUL_ESCAPE in raw:  # U+0000 in a string: stored as U+FFFD on every engine (`storable`)
            document = storable(document)
        if integer_names := integers.get(document["event_name"]):
            document["properties"] = stored_properties(document, integer_names)
        received_text = shared_text or received_at.isoformat()
        raw_text, digest = raw.decode(), hashlib.sha256(raw).hexdigest()
        if plain_chunk or (
            plain_text and b"\\" not in raw and b"\t" not in raw and b"\n" not in raw and b"\r" not in raw
        ):
            # No escape and no whitespace but spaces in the line (JSON allows no other control character there),
            # so no control character in any value: msgspec's JSON array of the row is the row in the bulk CSV
            # dialect, its `\"` and `\\` escapes included (the objects as JSON text fields).
            row = list(map(document.get, csv_columns))
            for position in json_positions:
                if (value := row[position]) is not None:
                    row[position] = encode(value).decode()
            row += (received_text, raw_text, digest, source, ref, run_id)
            spool += memoryview(encode(row))[1:-1]
            spool += b"\n"
        elif csv_columns:  # a control character may be in a value: each field escaped on its own
            fields = [
                "null" if value is None else csv_text(value if type(value) is str else encode(value).decode())
                for value in map(document.get, csv_columns)
            ]
            fields += (csv_text(received_text), csv_text(raw_text), digest, source_field, csv_text(ref), run_field)
            spool += ",".join(fields).encode()
            spool += b"\n"
        else:
            document["received_at"] = received_text
            document["raw"] = raw_text
            document["raw_sha256"] = digest
            document["source"] = source
            document["source_ref"] = ref
            document["run_id"] = run_id
            _ENCODER.encode_into(document, spool, -1)
            spool += b"\n"
        candidates += 1
    if not candidates:
        return ChunkVerdicts(len(raws), None, dead)
    spooled = Path(spool_dir) / f"events-{chunk.first_seq}.{'csv' if csv_columns else 'ndjson'}"
    spooled.write_bytes(spool)
    return ChunkVerdicts(len(raws), str(spooled), dead)
