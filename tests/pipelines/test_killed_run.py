"""A run killed at any point (SIGKILL of its whole process group, judging workers included) and run again commits
each input exactly once, on both warehouses: raw.events, the audit, the dead letters (table and files) and
raw.ingested_files hold nothing of the killed runs, and every landed line is counted once."""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import psutil
import pytest

from bench.validation_bench import EventFactory
from dead_letter.store import PENDING
from tests.conftest import JWT_SECRET, ROOT
from tests.pipelines.conftest import LocalRunStores, query
from tests.pipelines.dbt_runner import warehouse_environment

# The `landing_file_events` asset's run, with the stores an operator's environment gives. Not through Dagster:
# importing it takes longer on a 2-core machine than the whole ingestion.
INGEST_LANDING_FILES = """
import sys
import tempfile
from api.settings import load_settings
from pipelines.runs import RunStores, ingest_landing_files
paths = load_settings().paths
where = RunStores(paths.warehouse_at, paths.dead_letter_dir, paths.landing_dir, oltp_dsn="unused")
print(ingest_landing_files(where, sys.argv[1]), flush=True)
"""

# The generated events occurred on 2026-11-27 from 00:00 UTC: within the row rules' limits of both days.
DAY_1 = datetime(2026, 11, 26, 23, tzinfo=UTC)
DAY_2 = datetime(2026, 11, 27, 12, tzinfo=UTC)
ACCEPTED, DUPLICATE, DEAD = "accepted", "duplicate", "dead"
# A run's spool directory (pipelines/ingestion.py) and the candidates' files in it (pipelines/verdicts.py).
SPOOL_DIRS, CANDIDATES = "patronage-ingest-*", "events-*"  # .ndjson or .csv: the warehouse's bulk format
DAY_OF_FILE = {"a.ndjson": DAY_1, "b.ndjson": DAY_2, "c.ndjson": DAY_2 + timedelta(hours=1)}


@dataclass
class Corpus:
    """Landed lines and the fate of each, known by construction: an original is accepted, a byte-identical repeat
    after it is a duplicate, a repeat with other bytes or an invalid line is dead-lettered."""

    rng: random.Random
    factory: EventFactory
    fates: dict[str, str] = field(default_factory=dict)  # source_ref ("file:line") → fate
    accepted: list[bytes] = field(default_factory=list)
    count: int = 0

    def land(self, landing: Path, name: str, originals: int, invalid: int, repeats: int) -> None:
        """A landing file received on its DAY_OF_FILE."""
        lines: list[tuple[bytes, str]] = []
        for _ in range(originals):
            raw = msgspec.json.encode(self.factory.event(self.count))
            self.count += 1
            lines.append((raw, ACCEPTED))
        earlier = list(self.accepted)  # accepted by earlier files: repeats anywhere in this one
        self.accepted += [raw for raw, _ in lines]
        for _ in range(invalid):
            lines.insert(self.rng.randrange(len(lines) + 1), (self._invalid(), DEAD))
        for number in range(repeats):
            if earlier and number % 2:
                original, after = self.rng.choice(earlier), -1
            else:  # after its original in this file
                after = self.rng.randrange(len(lines))
                while lines[after][1] != ACCEPTED:
                    after = self.rng.randrange(len(lines))
                original = lines[after][0]
            conflict = number % 5 == 0  # the same event_id with other bytes
            repeat = self._other_bytes(original) if conflict else original
            lines.insert(self.rng.randrange(after + 1, len(lines) + 1), (repeat, DEAD if conflict else DUPLICATE))
        (landing / name).write_bytes(b"\n".join(raw for raw, _ in lines) + b"\n")
        moment = DAY_OF_FILE[name].timestamp()
        os.utime(landing / name, (moment, moment))
        self.fates |= {f"{name}:{number}": fate for number, (_, fate) in enumerate(lines, start=1)}

    def _invalid(self) -> bytes:
        event = self.factory.event(0)
        encoded = msgspec.json.encode(event)
        return self.rng.choice(
            [
                encoded[: self.rng.randrange(10, 80)],  # a truncated write
                msgspec.json.encode([event]),
                msgspec.json.encode(event | {"schema_version": "9.9"}),
                msgspec.json.encode(event | {"event_name": "nope"}),
                b"\xff\xfe" + encoded[2:],
                msgspec.json.encode(event | {"occurred_at": "2026-09-01T00:00:00.000Z"}),  # stale
            ]
        )

    @staticmethod
    def _other_bytes(raw: bytes) -> bytes:
        event = json.loads(raw)
        return msgspec.json.encode(event | {"properties": {**event["properties"], "note": "edited"}})

    def refs(self, fate: str) -> set[str]:
        return {ref for ref, found in self.fates.items() if found == fate}


def live_group(pgid: int) -> list[psutil.Process]:
    """Processes of a process group that still run (zombies whose parent died are no one's to reap here)."""
    members = []
    for process in psutil.process_iter(["status"]):
        try:
            if os.getpgid(process.pid) == pgid and process.info["status"] != psutil.STATUS_ZOMBIE:
                members.append(process)
        except (ProcessLookupError, psutil.Error):
            continue
    return members


@dataclass
class Ingestion:
    """`ingest_landing_files` in a process of its own session, as an operator's run: a kill reaches its workers."""

    env: dict[str, str]
    tmp: Path  # its TMPDIR: where the run's spool directory appears
    log: Path

    def start(self, run_id: str) -> tuple[subprocess.Popen[bytes], set[Path]]:
        before = set(self.tmp.glob(SPOOL_DIRS))
        with self.log.open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-c", INGEST_LANDING_FILES, run_id],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return process, before

    def complete(self, run_id: str) -> None:
        process, _ = self.start(run_id)
        assert process.wait(timeout=180) == 0, self.log.read_text()[-3000:]

    def kill_when(self, run_id: str, reached: Callable[[Path | None, bool], bool], *, may_finish: bool = False) -> int:
        """Start a run and SIGKILL its whole process group once `reached(spool directory or None, candidates seen)`;
        returns how many judging workers (the forkserver's children) were running then. `may_finish`: the kill point
        is so close to the run's end that the run may have ended by the time the kill lands."""
        process, before = self.start(run_id)
        try:
            spool: Path | None = None
            seen_candidates = False
            deadline = time.monotonic() + 120
            while not reached(spool, seen_candidates):
                if process.poll() is not None:  # ended between two looks: only a kill point at its very end allows it
                    assert may_finish, f"{run_id} ended before its kill point:\n{self.log.read_text()[-3000:]}"
                    assert process.returncode == 0, self.log.read_text()[-3000:]
                    return 0
                assert time.monotonic() < deadline, f"{run_id} never reached its kill point"
                time.sleep(0.005)
                if spool is None:
                    spool = next(iter(set(self.tmp.glob(SPOOL_DIRS)) - before), None)
                elif spool.exists() and any(spool.glob(CANDIDATES)):
                    seen_candidates = True
            started = psutil.Process(process.pid)
            workers = len(started.children(recursive=True)) - len(started.children())
        finally:  # after a failed wait too: a run held before its commit would hold the warehouse
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
            deadline = time.monotonic() + 30
            while survivors := live_group(process.pid):
                assert time.monotonic() < deadline, f"survived the kill of {run_id}: {survivors}"
                time.sleep(0.05)
        assert process.returncode == -signal.SIGKILL or (may_finish and process.returncode == 0)
        return workers


def judging(spool: Path | None, seen_candidates: bool) -> bool:
    """Workers are judging: a chunk's candidates are spooled, nothing is loaded."""
    return seen_candidates


def settling(spool: Path | None, seen_candidates: bool) -> bool:
    """Every candidate is loaded into raw.events (the spool files are gone) in the open transaction."""
    return seen_candidates and spool is not None and spool.exists() and not any(spool.glob(CANDIDATES))


def staging(where: LocalRunStores) -> Callable[[Path | None, bool], bool]:
    """The run stages its dead letters (dead_letter/store.py), its last step before the commit."""
    return lambda _, __: any(where.dead_letter_dir.rglob(f"*{PENDING}"))


def partition(where: LocalRunStores, day: datetime, run_id: str) -> Path:
    return where.dead_letter_dir / f"date={day.date().isoformat()}" / f"{run_id}.ndjson"


def hold_publishing(where: LocalRunStores, run_id: str) -> Path:
    """A FIFO where the run's day-2 dead-letter partition goes: publishing it after the commit reads what is
    there first, and blocks, so the run is held between its commit and the end of its publishing."""
    fifo = partition(where, DAY_2, run_id)
    fifo.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(fifo)
    return fifo


def committed_runs(where: LocalRunStores) -> set[str]:
    return {run for (run,) in query(where, "select run_id from marts.ingestion_audit where received > 0")}


def assert_each_input_once(where: LocalRunStores, corpus: Corpus, audits: dict[str, tuple[int, ...]]) -> None:
    """Each line accepted into raw.events, counted as a duplicate or dead-lettered (table and file) exactly once, by
    the committed runs (`audits`: run id → received, accepted, duplicates, dead_lettered) and no other."""
    found = query(
        where,
        "select run_id, received, accepted, duplicates, dead_lettered from marts.ingestion_audit "
        "where source = 'landing_files'",
    )
    assert {run: tuple(figures) for run, *figures in found} == audits
    assert sum(received for _, received, *_ in found) == len(corpus.fates)

    events = query(where, "select event_id, source_ref, run_id from raw.events where source = 'landing_files'")
    assert len({event_id for event_id, _, _ in events}) == len(events)
    assert Counter(ref for _, ref, _ in events) == Counter(corpus.refs(ACCEPTED))
    assert {run for _, _, run in events} <= set(audits)

    rows = query(where, "select source_ref, run_id from marts.dead_letter_events where source = 'landing_files'")
    assert Counter(ref for ref, _ in rows) == Counter(corpus.refs(DEAD))
    assert {run for _, run in rows} <= set(audits)

    # The files: the committed runs' partitions and nothing else (no other run's, nothing staged, no half-written
    # .tmp).
    files = sorted(
        p.relative_to(where.dead_letter_dir).as_posix() for p in where.dead_letter_dir.rglob("*") if not p.is_dir()
    )
    published = {f"date={DAY_OF_FILE[ref.split(':')[0]]:%Y-%m-%d}/{run}.ndjson" for ref, run in rows}
    records = Counter(
        json.loads(text)["source_ref"]
        for name in files
        for text in (where.dead_letter_dir / name).read_text().splitlines()
    )
    assert files == sorted(published), f"dead-letter files of runs that did not commit: {set(files) - published}"
    assert records == Counter(corpus.refs(DEAD))


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """The runs' TMPDIR, short: multiprocessing's forkserver binds a unix socket under it, and a socket path
    is at most 107 bytes (pytest's own tmp_path, under xdist, leaves too few)."""
    path = Path(tempfile.mkdtemp(prefix="killed-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def ingestion(tmp_path: Path, short_tmp: Path, where: LocalRunStores) -> Ingestion:
    environment = {
        **os.environ,
        "PATRONAGE_DATA_DIR": str(tmp_path / "data"),
        "PATRONAGE_JWT_SECRET": JWT_SECRET,
        "DATABASE_URL": where.oltp_dsn,
        "PATRONAGE_LANDING_DIR": str(where.landing_dir),
        "PATRONAGE_DEAD_LETTER_DIR": str(where.dead_letter_dir),
        "PATRONAGE_INGEST_WORKERS": "2",
        "TMPDIR": str(short_tmp),
        **warehouse_environment(where.warehouse),
    }
    return Ingestion(environment, short_tmp, tmp_path / "ingestion.log")


@pytest.fixture
def corpus() -> Corpus:
    return Corpus(random.Random(14), EventFactory(random.Random(14)))


def counts(corpus: Corpus, before: Counter[str] | None = None) -> tuple[int, ...]:
    """An audit's (received, accepted, duplicates, dead_lettered) for the lines landed since `before`."""
    since = Counter(corpus.fates.values()) - (before or Counter())
    return (since.total(), since[ACCEPTED], since[DUPLICATE], since[DEAD])


@pytest.mark.slow
def test_runs_killed_before_their_commit_leave_nothing_behind(
    where: LocalRunStores, ingestion: Ingestion, corpus: Corpus
) -> None:
    """Killed while workers judge, while the warehouse settles and while its dead letters are staged; then run
    again. The last kill lands just before the commit or just after it: either way each input counts once."""
    # One chunk per file, judged by a worker each: the small one's candidates are spooled while b's are judged.
    corpus.land(where.landing_dir, "a.ndjson", originals=5_000, invalid=120, repeats=240)
    corpus.land(where.landing_dir, "b.ndjson", originals=14_000, invalid=120, repeats=240)

    assert ingestion.kill_when("killed-judging", judging) >= 1
    ingestion.kill_when("killed-settling", settling)
    ingestion.kill_when("killed-staging", staging(where), may_finish=True)
    ingestion.complete("rerun")
    assert list(ingestion.tmp.glob(SPOOL_DIRS)) == []  # the killed runs' spools went with the rerun

    first = "killed-staging" if "killed-staging" in committed_runs(where) else "rerun"
    assert_each_input_once(
        where, corpus, {first: counts(corpus)} | ({"rerun": (0, 0, 0, 0)} if first != "rerun" else {})
    )
    assert query(where, "select path, run_id from raw.ingested_files order by path") == [
        ("a.ndjson", first),
        ("b.ndjson", first),
    ]


@pytest.mark.slow
def test_a_run_killed_after_its_commit_is_not_ingested_again(
    where: LocalRunStores, ingestion: Ingestion, corpus: Corpus
) -> None:
    """Killed after its commit, with one of its two dead-letter partitions published (DuckDB may not have
    checkpointed its log either); then a run with more lines, repeats of the committed ones among them, killed
    before its commit; the last run publishes the first one's other partition and commits the new lines once."""
    corpus.land(where.landing_dir, "a.ndjson", originals=2_000, invalid=50, repeats=100)
    corpus.land(where.landing_dir, "b.ndjson", originals=2_000, invalid=50, repeats=100)
    fifo = hold_publishing(where, "killed-publishing")
    ingestion.kill_when("killed-publishing", lambda _, __: partition(where, DAY_1, "killed-publishing").exists())
    fifo.unlink()
    assert list(where.dead_letter_dir.rglob(f"*{PENDING}")), "the day-2 partition was left staged"
    first = counts(corpus)
    landed = Counter(corpus.fates.values())
    corpus.land(where.landing_dir, "c.ndjson", originals=4_000, invalid=50, repeats=200)
    ingestion.kill_when("killed-settling", settling)
    ingestion.complete("rerun")

    assert_each_input_once(where, corpus, {"killed-publishing": first, "rerun": counts(corpus, before=landed)})
    assert query(where, "select path, run_id from raw.ingested_files order by path") == [
        ("a.ndjson", "killed-publishing"),
        ("b.ndjson", "killed-publishing"),
        ("c.ndjson", "rerun"),
    ]
