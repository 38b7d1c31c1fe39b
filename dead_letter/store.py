"""Dead-letter records: files under PATRONAGE_DEAD_LETTER_DIR (date=YYYY-MM-DD/<run_id>.ndjson) plus the
warehouse table marts.dead_letter_events. Records are never deleted; replays only mark them."""

from __future__ import annotations

import base64
import json
import tempfile
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import msgspec

from pipelines.storage import Location, Where

_NAMESPACE = uuid.UUID("0b7d7c55-36a5-4f8e-8f0a-1f7d2b7a9e41")


@dataclass(frozen=True)
class DeadLetter:
    run_id: str
    source: str
    source_ref: str
    received_at: datetime
    reason_code: str
    errors: list[dict[str, str]]
    raw: bytes
    event_id: str | None = None
    event_name: str | None = None
    dead_letter_id: str = field(default="")

    def __post_init__(self) -> None:
        if not self.dead_letter_id:  # one id per input, stable across re-runs of the same input
            object.__setattr__(self, "dead_letter_id", str(uuid.uuid5(_NAMESPACE, f"{self.source}:{self.source_ref}")))

    @property
    def raw_text(self) -> tuple[str, str]:
        """(text, encoding): the original bytes losslessly, as UTF-8 text or else base64."""
        try:
            return self.raw.decode("utf-8"), "utf8"
        except UnicodeDecodeError:
            return base64.b64encode(self.raw).decode("ascii"), "base64"

    def record(self) -> dict[str, Any]:
        raw, encoding = self.raw_text
        return {
            "dead_letter_id": self.dead_letter_id,
            "run_id": self.run_id,
            "source": self.source,
            "source_ref": self.source_ref,
            "received_at": self.received_at.isoformat(),
            "reason_code": self.reason_code,
            "errors": self.errors,
            "event_id": self.event_id,
            "event_name": self.event_name,
            "raw": raw,
            "raw_encoding": encoding,
        }


def original_bytes(raw: str, encoding: str) -> bytes:
    return base64.b64decode(raw) if encoding == "base64" else raw.encode("utf-8")


@dataclass(frozen=True)
class Written:
    """A partition a run wrote, and what it held before (another source of the same run's records)."""

    partition: str
    earlier: bytes


def write_files(directory: Where, run_id: str, letters: list[DeadLetter]) -> list[Written]:
    """Write the run's records, partitioned by the UTC date of received_at; each file appears whole."""
    location = Location(directory)
    by_date: dict[str, list[DeadLetter]] = defaultdict(list)
    for letter in letters:
        # received_at carries its source's offset (a landing row: the PostgreSQL session's zone); the partition is UTC.
        by_date[letter.received_at.astimezone(UTC).date().isoformat()].append(letter)
    written = []
    for day, group in sorted(by_date.items()):
        partition = f"date={day}/{run_id}.ndjson"
        # Another source of the same run may have written this partition already: keep its records.
        earlier = location.read_bytes(partition) if location.exists(partition) else b""
        records = "".join(json.dumps(letter.record(), ensure_ascii=False) + "\n" for letter in group)
        location.write(partition, earlier + records.encode("utf-8"))
        written.append(Written(partition, earlier))
    return written


def undo_files(directory: Where, written: list[Written]) -> None:
    """Put each partition back as it was before this write: records another source committed stay."""
    location = Location(directory)
    for item in written:
        if item.earlier:
            location.write(item.partition, item.earlier)
        else:
            location.delete(item.partition)


def insert_rows(connection: duckdb.DuckDBPyConnection, letters: list[DeadLetter]) -> None:
    """Bulk insert through a temporary NDJSON file (row-by-row inserts into DuckDB are slow)."""
    if not letters:
        return
    with tempfile.NamedTemporaryFile("wb", suffix=".ndjson", delete=False) as handle:
        for letter in letters:
            record = letter.record()
            record["errors"] = json.dumps(record["errors"])
            handle.write(msgspec.json.encode(record) + b"\n")
    try:
        connection.execute(
            """
            insert into marts.dead_letter_events (dead_letter_id, run_id, source, source_ref, received_at, reason_code,
                                                  errors, event_id, event_name, raw, raw_encoding)
            select dead_letter_id, run_id, source, source_ref, received_at::timestamptz, reason_code, errors::json,
                   event_id, event_name, raw, raw_encoding
              from read_json(?, format = 'newline_delimited', columns = {
                dead_letter_id: 'varchar', run_id: 'varchar', source: 'varchar', source_ref: 'varchar',
                received_at: 'varchar', reason_code: 'varchar', errors: 'varchar', event_id: 'varchar',
                event_name: 'varchar', raw: 'varchar', raw_encoding: 'varchar'})
            on conflict do nothing
            """,
            [handle.name],
        )
    finally:
        Path(handle.name).unlink()
