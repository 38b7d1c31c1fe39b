"""Landed files for the Spark tests: a corpus every verdict meets, the stores of one engine's run, and what a run
leaves in terms every engine spells alike."""

from __future__ import annotations

import gzip
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from stores.warehouse import WarehouseAt, spark_adapter
from tests.pipelines.conftest import LocalRunStores, query
from tests.pipelines.events import client_event, line

LANDED_AT = datetime(2026, 11, 30, 9, tzinfo=UTC)


def stores(folder: Path, warehouse: WarehouseAt) -> LocalRunStores:
    (folder / "landing").mkdir(parents=True)
    return LocalRunStores(
        warehouse=warehouse,
        dead_letter_dir=folder / "dead_letter",
        landing_dir=folder / "landing",
        oltp_dsn="postgresql://unused/landing-files-only",
    )


def land(where: LocalRunStores, name: str, lines: list[bytes], minutes_later: int = 0) -> None:
    """A landed file, received (its modification time) at the same instant whichever warehouse reads it."""
    path = where.landing_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    body = b"".join(raw + b"\n" for raw in lines)
    path.write_bytes(gzip.compress(body) if name.endswith(".gz") else body)
    stamp = (LANDED_AT + timedelta(minutes=minutes_later)).timestamp()
    os.utime(path, (stamp, stamp))


def event(**changes: Any) -> dict[str, Any]:
    """A valid event that occurred shortly before it landed."""
    return client_event(occurred_at=LANDED_AT - timedelta(minutes=5), **changes)


def first_corpus() -> tuple[list[bytes], list[bytes]]:
    """Two files: valid events, a duplicate (same bytes) and a conflict (same id, other bytes) within the run, and
    inputs each verdict refuses (not JSON, not an object, not UTF-8, against the contract)."""
    events = [event() for _ in range(10)]
    other_bytes = dict(events[1], app_version="9.9.9")
    refused = [b"{not json", b'"not an event"', b'{"event_id": "x", \xff\xfe}', line(event(platform="toaster"))]
    first = [line(events[0]), line(events[1]), *refused, line(events[0]), line(other_bytes), *map(line, events[2:7])]
    second = [*map(line, events[7:]), line(events[2])]
    return first, second


def later_file(first: list[bytes]) -> list[bytes]:
    """A later run's file: an accepted event again (a duplicate), another with other bytes (a conflict), a new one."""
    accepted_earlier = json.loads(first[-1])
    return [first[0], line(dict(accepted_earlier, platform="web")), line(event())]


def outcome(where: LocalRunStores) -> dict[str, Any]:
    """What the runs left, in terms both engines spell alike (JSON as documents, instants in UTC)."""
    letters = query(
        where,
        "select source_ref, reason_code, errors, event_id, raw, raw_encoding, run_id from marts.dead_letter_events",
    )
    files = {
        str(path.relative_to(where.dead_letter_dir)): [
            record | {"received_at": datetime.fromisoformat(record["received_at"]).astimezone(UTC)}
            for record in map(json.loads, path.read_text().splitlines())
        ]
        for path in sorted(Path(where.dead_letter_dir).rglob("*.ndjson"))
    }
    return {
        "audits": sorted(
            query(where, "select run_id, received, accepted, duplicates, dead_lettered from marts.ingestion_audit")
        ),
        "events": sorted(query(where, "select event_id, source_ref, raw, run_id from raw.events")),
        "dead_letters": sorted((*row[:2], json.loads(row[2]), *row[3:]) for row in letters),
        "dead_letter_files": {name: sorted(records, key=lambda r: r["source_ref"]) for name, records in files.items()},
        "watermarks": query(where, "select * from raw.watermarks"),
        "ingested_files": sorted(query(where, "select path, bytes from raw.ingested_files")),
    }


def lake_url(folder: Path) -> str:
    return f"spark://local?lake={folder / 'lake'}&cores=1"


def catalog(where: LocalRunStores) -> dict[str, str]:
    lake = spark_adapter.lake_of(str(where.warehouse))
    return dict(json.loads((lake / spark_adapter.CATALOG).read_text())["tables"])
