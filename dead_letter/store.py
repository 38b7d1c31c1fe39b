"""Dead-letter records: files under PATRONAGE_DEAD_LETTER_DIR (date=YYYY-MM-DD/<run_id>.ndjson) plus the
warehouse table marts.dead_letter_events. Records are never deleted; replays only mark them."""

from __future__ import annotations

import base64
import posixpath
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import msgspec

from stores.files import TEMPORARY, Location, PathOrUrl
from stores.warehouse import DEAD_LETTER_COLUMNS, Warehouse, storable

_DECODER = msgspec.json.Decoder()
_ENCODER = msgspec.json.Encoder()  # compact: the JSON columns read the same on every engine
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
        """(text, encoding): the original bytes losslessly, as UTF-8 text, or base64 when they are not UTF-8 or hold
        a NUL byte (no warehouse's text stores one: `storable`)."""
        if b"\x00" not in self.raw:
            try:
                return self.raw.decode("utf-8"), "utf8"
            except UnicodeDecodeError:
                pass
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
            "errors": storable(self.errors),  # what the line held may be quoted in a message
            "event_id": storable(self.event_id),
            "event_name": storable(self.event_name),
            "raw": raw,
            "raw_encoding": encoding,
        }


def original_bytes(raw: str, encoding: str) -> bytes:
    return base64.b64decode(raw) if encoding == "base64" else raw.encode("utf-8")


def partition_of(run_id: str, letter: DeadLetter) -> str:
    # received_at carries its source's offset (a landing row: the PostgreSQL session's zone); the partition is UTC.
    return f"date={letter.received_at.astimezone(UTC).date().isoformat()}/{run_id}.ndjson"


class DeadLetterFiles:
    """A run's dead-letter records as they are found, spooled per partition on local disk so that a run of any size
    holds none of them in memory. Files follow the warehouse's commit: `stage` writes them where readers do not look
    before it, `publish` moves them into place after it, and `recover` finishes or removes what a killed run left."""

    def __init__(self, run_id: str, spool_dir: Path) -> None:
        self.run_id = run_id
        self.spool_dir = spool_dir
        self.count = 0
        self._spools: dict[str, Path] = {}

    def add(self, letters: list[DeadLetter]) -> None:
        self.count += len(letters)
        by_partition: dict[str, list[str]] = defaultdict(list)
        for letter in letters:
            by_partition[partition_of(self.run_id, letter)].append(_ENCODER.encode(letter.record()).decode())
        for partition, records in by_partition.items():
            spool = self._spools.setdefault(partition, self.spool_dir / f"dead-{len(self._spools)}.ndjson")
            with spool.open("a", encoding="utf-8") as handle:
                handle.writelines(record + "\n" for record in records)

    @property
    def spools(self) -> list[Path]:
        return list(self._spools.values())

    def stage(self, directory: PathOrUrl, source: str) -> list[str]:
        """Write each partition's records beside it under a name readers ignore (`…ndjson.<source>.pending`),
        before the warehouse commits; `publish` moves them into their partitions after it has."""
        location = Location(directory)
        staged = []
        for partition, spool in sorted(self._spools.items()):
            staged.append(f"{partition}.{source}{PENDING}")
            with spool.open("rb") as handle:
                location.write_parts(staged[-1], _pieces(handle))
        return staged


PENDING = ".pending"


def _pieces(handle: IO[bytes], size: int = 1 << 22) -> Iterator[bytes]:
    while piece := handle.read(size):
        yield piece


def publish(directory: PathOrUrl, staged: Sequence[str]) -> None:
    """Append each staged file's records to its partition, which appears whole, then remove the staged file.

    Records already in the partition are skipped, so publishing again after an interruption (between writing the
    partition and removing the staged file) adds nothing twice.
    """
    location = Location(directory)
    for name in staged:
        partition = name.removesuffix(PENDING).rsplit(".", 1)[0]
        earlier = location.read_bytes(partition) if location.exists(partition) else b""
        present = {_DECODER.decode(line)["dead_letter_id"] for line in earlier.splitlines()}
        if present:
            fresh = b"".join(
                line + b"\n"
                for line in location.read_bytes(name).splitlines()
                if _DECODER.decode(line)["dead_letter_id"] not in present
            )
            location.write_parts(partition, [earlier, fresh])
        else:
            with location.open_read(name) as handle:
                location.write_parts(partition, _pieces(handle))
        location.delete(name)


def discard(directory: PathOrUrl, staged: Sequence[str]) -> None:
    location = Location(directory)
    for name in staged:
        location.delete(name)


def recover(directory: PathOrUrl, source: str, committed: Callable[[str], bool]) -> None:
    """What a killed run of `source` left staged: published if that run committed, removed if it did not;
    and a file it was killed while writing (its staged file, or the partition it was publishing to, neither
    ever whole: `<name>.<random>.tmp`), removed."""
    location = Location(directory)
    temporaries = location.files(TEMPORARY)
    for leftover in temporaries:
        if f".{source}{PENDING}." in posixpath.basename(leftover.relative):
            location.delete(leftover.relative)
    for stored in location.files(f".{source}{PENDING}"):
        partition = stored.relative.removesuffix(f".{source}{PENDING}")
        for leftover in temporaries:
            if leftover.relative.startswith(partition + ".") and location.exists(leftover.relative):
                location.delete(leftover.relative)
        run_id = posixpath.basename(partition).removesuffix(".ndjson")
        if committed(run_id):
            publish(directory, [stored.relative])
        else:
            discard(directory, [stored.relative])


def insert_rows(warehouse: Warehouse, spools: Sequence[Path]) -> None:
    """Rows of marts.dead_letter_events from spooled records; an input dead-lettered before (a re-run) keeps its
    first row."""
    warehouse.load_json_lines("marts.dead_letter_events", DEAD_LETTER_COLUMNS, spools, on_conflict_do_nothing=True)
