"""Dead-letter files: partitioned by the UTC date of received_at, whatever offset the source gave it."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from dead_letter.store import DeadLetter, DeadLetterFiles, Written, undo_files

NEW_YORK_WINTER = timezone(timedelta(hours=-5))
BERLIN_WINTER = timezone(timedelta(hours=1))


def write_files(directory: Path, run_id: str, letters: list[DeadLetter]) -> list[Written]:
    with tempfile.TemporaryDirectory() as spool:
        files = DeadLetterFiles(run_id, Path(spool))
        files.add(letters)
        return files.publish(directory / "out")


def letter(source_ref: str, received_at: datetime) -> DeadLetter:
    errors = [{"path": "$", "message": "not JSON", "reason": "malformed_json"}]
    return DeadLetter("run-1", "event_landing", source_ref, received_at, "malformed_json", errors, b"{")


@pytest.mark.parametrize(
    ("received_at", "utc_day"),
    [
        pytest.param(datetime(2026, 11, 27, 23, 30, tzinfo=NEW_YORK_WINTER), "2026-11-28", id="local-evening"),
        pytest.param(datetime(2026, 11, 28, 0, 30, tzinfo=BERLIN_WINTER), "2026-11-27", id="local-after-midnight"),
    ],
)
def test_the_partition_is_the_utc_date_of_received_at(tmp_path: Path, received_at: datetime, utc_day: str) -> None:
    """events.md: "The `date=` partition is the UTC date of `received_at`", not the session zone's date."""
    written = [w.partition for w in write_files(tmp_path, "run-1", [letter("event_landing:1", received_at)])]
    assert written == [f"date={utc_day}/run-1.ndjson"]
    record = json.loads((tmp_path / "out" / written[0]).read_text())
    assert datetime.fromisoformat(record["received_at"]) == received_at


def test_one_utc_day_is_one_partition_whatever_the_offsets(tmp_path: Path) -> None:
    same_instant_zones = [
        letter("event_landing:1", datetime(2026, 11, 27, 19, 30, tzinfo=NEW_YORK_WINTER)),
        letter("event_landing:2", datetime(2026, 11, 28, 1, 30, tzinfo=BERLIN_WINTER)),
    ]
    assert [w.partition for w in write_files(tmp_path, "run-1", same_instant_zones)] == ["date=2026-11-28/run-1.ndjson"]
    assert len((tmp_path / "out/date=2026-11-28/run-1.ndjson").read_text().splitlines()) == 2


def test_undoing_a_write_keeps_what_another_source_of_the_run_wrote(tmp_path: Path) -> None:
    """A run's second source fails after appending to the partition the first one committed: only its own
    records go (events.md: records are never deleted)."""
    day = datetime(2026, 11, 28, 9, tzinfo=UTC)
    (first,) = write_files(tmp_path, "run-1", [letter("event_landing:1", day)])
    committed = (tmp_path / "out" / first.partition).read_bytes()
    second = write_files(tmp_path, "run-1", [letter("landing/a.ndjson:3", day)])
    assert (tmp_path / "out" / first.partition).read_bytes() != committed
    undo_files(tmp_path / "out", second)
    assert (tmp_path / "out" / first.partition).read_bytes() == committed
    undo_files(tmp_path / "out", [first])
    assert not (tmp_path / "out" / first.partition).exists()
