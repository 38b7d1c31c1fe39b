"""Where landed events come from: the OLTP `event_landing` table (by watermark) and NDJSON files
(each file once, by content hash)."""

from __future__ import annotations

import gzip
import hashlib
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg2

from pipelines.ingestion import Input
from pipelines.storage import Location, Where

TABLE_SOURCE = "event_landing"
FILES_SOURCE = "landing_files"
LANDING_SUFFIXES = (".ndjson", ".ndjson.gz")
# Identity values are taken at insert but become visible at commit: a young gap may still fill.
GAP_GRACE = timedelta(seconds=30)


@dataclass(frozen=True)
class TableBatch:
    inputs: list[Input]
    position: int  # the highest landing_id this batch covers


def read_landing_table(dsn: str, after: int | None, limit: int, now: datetime | None = None) -> TableBatch:
    """Rows after the watermark (None: from the first row), in landing order, stopping before a young gap
    that an open transaction may still fill."""
    now = now or datetime.now(UTC)
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        if after is None:
            cursor.execute("select coalesce(min(landing_id), 1) - 1 from event_landing")
            after = int(cursor.fetchone()[0])  # type: ignore[index]
        cursor.execute(
            "select landing_id, received_at, raw, source from event_landing where landing_id > %s "
            "order by landing_id limit %s",
            (after, limit),
        )
        rows = cursor.fetchall()
    inputs: list[Input] = []
    position = after
    for landing_id, received_at, raw, origin in rows:
        if landing_id != position + 1 and received_at > now - GAP_GRACE:
            break
        inputs.append(
            Input(TABLE_SOURCE, f"event_landing:{landing_id}", received_at, raw.encode("utf-8"), origin == "client")
        )
        position = landing_id
    inputs.sort(key=lambda item: (item.received_at, int(item.source_ref.rpartition(":")[2])))
    return TableBatch(inputs, position)


@dataclass(frozen=True)
class LandingFile:
    location: Location
    relative: str
    sha256: str
    content: bytes | None  # None: unreadable (e.g. a corrupt gzip stream)
    received_at: datetime
    size: int


def find_landing_files(landing: Where) -> list[LandingFile]:
    """Every *.ndjson / *.ndjson.gz below the landing location, by path; received_at is the file's
    modification time (an object's LastModified)."""
    location = Location(landing)
    found: list[LandingFile] = []
    for stored in location.files(*LANDING_SUFFIXES):
        data = location.read_bytes(stored.relative)
        content: bytes | None = data
        if stored.relative.endswith(".gz"):
            try:
                content = gzip.decompress(data)
            except (OSError, EOFError, zlib.error):
                content = None
        digest = hashlib.sha256(content if content is not None else data).hexdigest()
        found.append(LandingFile(location, stored.relative, digest, content, stored.modified, len(data)))
    return found


def file_inputs(landing_file: LandingFile) -> Iterator[Input]:
    """One input per line (without its line break); an unreadable file is one input with its bytes."""
    if landing_file.content is None:
        raw = landing_file.location.read_bytes(landing_file.relative)
        yield Input(FILES_SOURCE, f"{landing_file.relative}:0", landing_file.received_at, raw)
        return
    lines = landing_file.content.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the final line break ends the last line; it does not start another
    for number, line in enumerate(lines, start=1):
        yield Input(
            FILES_SOURCE, f"{landing_file.relative}:{number}", landing_file.received_at, line.removesuffix(b"\r")
        )
