"""Dead-letter files: partitioned by the UTC date of received_at, whatever offset the source gave it."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from dead_letter.store import DeadLetter, DeadLetterFiles, publish, recover

NEW_YORK_WINTER = timezone(timedelta(hours=-5))
BERLIN_WINTER = timezone(timedelta(hours=1))


def stage_files(directory: Path, run_id: str, letters: list[DeadLetter], source: str = "event_landing") -> list[str]:
    with tempfile.TemporaryDirectory() as spool:
        files = DeadLetterFiles(run_id, Path(spool))
        files.add(letters)
        return files.stage(directory / "out", source)


def write_files(directory: Path, run_id: str, letters: list[DeadLetter], source: str = "event_landing") -> list[str]:
    """Staged, then published (as after the warehouse's commit): the partitions written."""
    staged = stage_files(directory, run_id, letters, source)
    publish(directory / "out", staged)
    return sorted({name.split(".ndjson.")[0] + ".ndjson" for name in staged})


def files_below(directory: Path) -> dict[str, list[str]]:
    return {
        path.relative_to(directory).as_posix(): path.read_text().splitlines()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


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
    written = write_files(tmp_path, "run-1", [letter("event_landing:1", received_at)])
    assert written == [f"date={utc_day}/run-1.ndjson"]
    record = json.loads((tmp_path / "out" / written[0]).read_text())
    assert datetime.fromisoformat(record["received_at"]) == received_at


def test_one_utc_day_is_one_partition_whatever_the_offsets(tmp_path: Path) -> None:
    same_instant_zones = [
        letter("event_landing:1", datetime(2026, 11, 27, 19, 30, tzinfo=NEW_YORK_WINTER)),
        letter("event_landing:2", datetime(2026, 11, 28, 1, 30, tzinfo=BERLIN_WINTER)),
    ]
    assert write_files(tmp_path, "run-1", same_instant_zones) == ["date=2026-11-28/run-1.ndjson"]
    assert len((tmp_path / "out/date=2026-11-28/run-1.ndjson").read_text().splitlines()) == 2


def test_staged_records_are_invisible_until_published_and_join_another_source_of_the_run(tmp_path: Path) -> None:
    """A run's second source appends to the partition the first one published; before its commit, readers (who
    list `*.ndjson`) see only the first source's records."""
    day = datetime(2026, 11, 28, 9, tzinfo=UTC)
    (partition,) = write_files(tmp_path, "run-1", [letter("event_landing:1", day)])
    staged = stage_files(tmp_path, "run-1", [letter("landing/a.ndjson:3", day)], source="landing_files")
    visible = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.ndjson"))
    assert visible == [partition]
    assert len((tmp_path / "out" / partition).read_text().splitlines()) == 1

    publish(tmp_path / "out", staged)
    refs = [json.loads(text)["source_ref"] for text in (tmp_path / "out" / partition).read_text().splitlines()]
    assert refs == ["event_landing:1", "landing/a.ndjson:3"]
    assert list(files_below(tmp_path / "out")) == [partition]


def test_recovery_publishes_what_a_committed_run_staged_and_removes_the_rest(tmp_path: Path) -> None:
    """A run killed after its commit left staged files (one of them already appended to its partition before the
    kill): they are published once. A run killed before its commit left staged files: they go."""
    day = datetime(2026, 11, 28, 9, tzinfo=UTC)
    committed = stage_files(tmp_path, "run-1", [letter("landing/a.ndjson:1", day), letter("landing/a.ndjson:2", day)])
    (half_published,) = stage_files(tmp_path, "run-2", [letter("landing/b.ndjson:1", day)])
    publish(tmp_path / "out", [half_published])
    (tmp_path / "out" / half_published).write_bytes((tmp_path / "out" / "date=2026-11-28/run-2.ndjson").read_bytes())
    stage_files(tmp_path, "run-3", [letter("landing/c.ndjson:1", day)])
    other_source = stage_files(tmp_path, "run-4", [letter("landing/d.ndjson:1", day)], source="landing_files")

    recover(tmp_path / "out", "event_landing", lambda run_id: run_id in {"run-1", "run-2"})

    assert {name: len(lines) for name, lines in files_below(tmp_path / "out").items()} == {
        "date=2026-11-28/run-1.ndjson": 2,
        "date=2026-11-28/run-2.ndjson": 1,  # not twice
        other_source[0]: 1,  # another source's run: that source's next run decides
    }
    assert not any(committed[0] in name for name in files_below(tmp_path / "out"))
