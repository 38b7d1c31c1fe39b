"""Where landed events come from: the OLTP `event_landing` table (by watermark) and NDJSON files
(each file once, by content hash), read as chunks of lines in processing order."""

from __future__ import annotations

import gzip
import hashlib
import zlib
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import IO, cast

import psycopg2

from pipelines.ingestion import CHUNK_BYTES, CHUNK_LINES
from pipelines.verdicts import Chunk, FileLines
from stores.files import Location, PathOrUrl

TABLE_SOURCE = "event_landing"
FILES_SOURCE = "landing_files"
LANDING_SUFFIXES = (".ndjson", ".ndjson.gz")
# Identity values are taken at insert but become visible at commit: a young gap may still fill.
GAP_GRACE = timedelta(seconds=30)
_UNREADABLE_GZIP = (OSError, EOFError, zlib.error)


@dataclass(frozen=True)
class TableBatch:
    refs: list[str]
    received_at: list[datetime]
    raws: list[bytes]
    from_client: list[bool]
    position: int  # the highest landing_id this batch covers

    def chunks(self) -> Iterator[Chunk]:
        for start in range(0, len(self.raws), CHUNK_LINES):
            end = start + CHUNK_LINES
            yield Chunk(
                TABLE_SOURCE,
                start,
                self.raws[start:end],
                self.refs[start:end],
                self.received_at[start:end],
                self.from_client[start:end],
            )


def read_landing_table(dsn: str, after: int | None, limit: int, now: datetime | None = None) -> TableBatch:
    """Rows after the watermark (None: from the first row), in landing order, stopping before a young gap
    that an open transaction may still fill; sorted into processing order (received_at, landing_id)."""
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
    taken = []
    position = after
    for landing_id, received_at, raw, origin in rows:
        if landing_id != position + 1 and received_at > now - GAP_GRACE:
            break
        taken.append((received_at, landing_id, raw, origin))
        position = landing_id
    taken.sort(key=lambda row: (row[0], row[1]))
    return TableBatch(
        refs=[f"event_landing:{landing_id}" for _, landing_id, _, _ in taken],
        received_at=[received_at for received_at, _, _, _ in taken],
        raws=[raw.encode("utf-8") for _, _, raw, _ in taken],
        from_client=[origin == "client" for _, _, _, origin in taken],
        position=position,
    )


@dataclass(frozen=True)
class LandingFile:
    location: Location
    relative: str
    sha256: str
    readable: bool  # False: a .gz that does not decompress (its bytes are then one input)
    received_at: datetime
    size: int

    def open(self) -> IO[bytes]:
        stream = self.location.open_read(self.relative)
        if self.readable and self.relative.endswith(".gz"):
            return cast(IO[bytes], gzip.GzipFile(fileobj=stream))
        return stream


def _digest(stream: IO[bytes]) -> str:
    digest = hashlib.sha256()
    while piece := stream.read(CHUNK_BYTES):
        digest.update(piece)
    return digest.hexdigest()


def _identify(location: Location, relative: str) -> tuple[str, bool]:
    """The content's sha256 (a .gz file's decompressed content) read as a stream, and whether it is readable."""
    if relative.endswith(".gz"):
        try:
            with location.open_read(relative) as stream, gzip.GzipFile(fileobj=stream) as content:
                return _digest(cast(IO[bytes], content)), True
        except _UNREADABLE_GZIP:
            pass
    with location.open_read(relative) as stream:
        return _digest(stream), not relative.endswith(".gz")


def find_landing_files(landing: PathOrUrl, unchanged: Collection[tuple[str, int, datetime]] = ()) -> list[LandingFile]:
    """Every *.ndjson / *.ndjson.gz below the landing location, by path; received_at is the file's
    modification time (an object's LastModified).

    Each is read whole to hash its content, except a file `unchanged` names by its path, size and modification
    time: one an earlier run ingested (raw.ingested_files) and nothing has written since. A run's time then does
    not grow with the landing directory's history, and an object store is not downloaded again at every run.
    """
    location = Location(landing)
    found: list[LandingFile] = []
    for stored in location.files(*LANDING_SUFFIXES):
        if (stored.relative, stored.size, stored.modified) in unchanged:
            continue
        digest, readable = _identify(location, stored.relative)
        found.append(LandingFile(location, stored.relative, digest, readable, stored.modified, stored.size))
    return found


def file_chunks(landing_files: list[LandingFile], first_seq: int = 0) -> Iterator[Chunk]:
    """Every line of the files, in order, as chunks (a line without its line break; the last line of a file needs
    none). An unreadable file is one input: its bytes. Files are read a block at a time, never whole."""
    seq = first_seq
    for landing_file in landing_files:
        if not landing_file.readable:
            with landing_file.location.open_read(landing_file.relative) as stream:
                raw = stream.read()
            yield Chunk(FILES_SOURCE, seq, [raw], (landing_file.relative, 0), landing_file.received_at)
            seq += 1
            continue
        number = 1
        for lines in _pieces(landing_file):
            yield Chunk(
                FILES_SOURCE, seq, lines, (landing_file.relative, number), landing_file.received_at, strip_cr=True
            )
            seq += len(lines)
            number += len(lines)


def _pieces(landing_file: LandingFile) -> Iterator[list[bytes] | FileLines]:
    """The file's lines, at most CHUNK_LINES at a time. A local uncompressed file's are where they are in it
    (FileLines): each judging worker reads its own, and this process only looks for the line breaks."""
    path = landing_file.location.local_path(landing_file.relative)
    if path is None or landing_file.relative.endswith(".gz"):
        for lines in _lines(landing_file):
            for start in range(0, len(lines), CHUNK_LINES):
                yield lines[start : start + CHUNK_LINES]
        return
    with open(path, "rb") as stream:
        for offset, length, count in _line_runs(stream):
            yield FileLines(path, offset, length, count)


def _line_runs(stream: IO[bytes]) -> Iterator[tuple[int, int, int]]:
    """(offset, length, lines) of consecutive runs of whole lines, read a block at a time: a run ends at the last
    line break of a block, or earlier if it would hold more than CHUNK_LINES lines; a line longer than a block is
    carried until it ends. The last line of the stream needs no line break."""
    start = end = 0  # the run being gathered is [start, end): blocks without a line break
    while block := stream.read(CHUNK_BYTES):
        breaks = block.count(b"\n")
        position = -1
        while breaks > CHUNK_LINES:  # many short lines: cut at every CHUNK_LINES-th break
            for _ in range(CHUNK_LINES):
                position = block.find(b"\n", position + 1)
            yield start, end + position + 1 - start, CHUNK_LINES
            start, breaks = end + position + 1, breaks - CHUNK_LINES
        if breaks:
            cut = block.rfind(b"\n") + 1
            yield start, end + cut - start, breaks
            start = end + cut
        end += len(block)
    if end > start:
        yield start, end - start, 1


def _lines(landing_file: LandingFile) -> Iterator[list[bytes]]:
    """The file's lines, a block's worth at a time; a line longer than a block is carried until it ends."""
    carried: list[bytes] = []
    with landing_file.open() as stream:
        while block := stream.read(CHUNK_BYTES):
            lines = block.split(b"\n")
            if len(lines) == 1:
                carried.append(block)
                continue
            if carried:
                lines[0] = b"".join([*carried, lines[0]])
                carried = []
            carried.append(lines.pop())
            yield lines
    last = b"".join(carried)
    if last:  # the final line break ends the last line; it does not start another
        yield [last]
