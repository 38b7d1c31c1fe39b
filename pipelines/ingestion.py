"""One validation path for every landed input: contract, row rules, dedupe, then accept or dead-letter.

An ingestion run reads new inputs from one source in processing order (received_at, then landing id or file path
and line), a chunk at a time, and commits accepted events, dead letters, the audit row and the source's position
in one warehouse transaction:

1. Worker processes judge each chunk (pipelines/verdicts.py): dead letters come back; candidates are spooled as
   rows in the warehouse's bulk format (JSON lines or CSV) and bulk-loaded by it into raw.events.
2. Set operations in the warehouse settle what is new: the first candidate of an event id not accepted before
   stays; a later one with the same bytes is a duplicate, with other bytes an `event_id_conflict` dead letter.
3. Conservation — received = accepted + duplicates + dead_lettered, recounted from the tables — is checked
   before the commit; a run that breaks it writes nothing and fails.
4. Dead-letter files follow the commit (dead_letter/store.py): staged where readers do not look before it, moved
   into their partitions after it; the next run of the source finishes or removes what a killed run left.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import shutil
import sys
import tempfile
import types
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from dead_letter import store
from dead_letter.store import DeadLetter, DeadLetterFiles, insert_rows
from pipelines.verdicts import LANDING_COLUMNS, Chunk, ChunkVerdicts, judge_chunk
from stores.files import PathOrUrl, abandoned, owner_tag
from stores.warehouse import EVENT_COLUMNS, Warehouse

CHUNK_LINES = 16_384
CHUNK_BYTES = 8 << 20


class ConservationError(RuntimeError):
    """received ≠ accepted + duplicates + dead_lettered: the run must not commit."""


@dataclass(frozen=True)
class Audit:
    run_id: str
    source: str
    received: int
    accepted: int
    duplicates: int
    dead_lettered: int
    started_at: datetime
    finished_at: datetime

    @property
    def conserved(self) -> bool:
        return self.received == self.accepted + self.duplicates + self.dead_lettered

    @property
    def dead_letter_rate(self) -> float:
        return self.dead_lettered / self.received if self.received else 0.0


def judged_chunks(
    chunks: Iterable[Chunk], run_id: str, spool_dir: str, workers: int, csv_columns: tuple[str, ...] = ()
) -> Iterator[ChunkVerdicts]:
    """Each chunk's verdicts, in the chunks' order. A single chunk is judged in this process (a pool costs more
    than it saves); more go to `workers` processes, a few chunks ahead of the consumer so memory stays bounded."""
    pending = iter(chunks)
    head = list(itertools.islice(pending, max(2, workers)))
    if len(head) < 2 or workers <= 1:
        for chunk in itertools.chain(head, pending):
            yield judge_chunk(chunk, run_id, spool_dir, csv_columns)
        return
    # forkserver: the pipeline's process has threads (Dagster, DuckDB) that a fork would copy mid-flight.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["pipelines.verdicts"])
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        # The pool starts a worker at each submit that finds none idle: the head's chunks, submitted back to back,
        # start every worker (a chunk takes far longer to judge than a submit), each with a bare main module.
        with _without_main_module():
            in_flight = deque(pool.submit(judge_chunk, chunk, run_id, spool_dir, csv_columns) for chunk in head)
        for chunk in pending:
            if len(in_flight) >= 2 * workers:
                yield in_flight.popleft().result()
            in_flight.append(pool.submit(judge_chunk, chunk, run_id, spool_dir, csv_columns))
        while in_flight:
            yield in_flight.popleft().result()


@contextmanager
def _without_main_module() -> Iterator[None]:
    """While workers start, `__main__` is a bare module. multiprocessing has every worker import the parent's main
    module again before it runs anything; under Dagster or a benchmark that module imports dagster and dbt, seconds
    of CPU per worker at every run. The workers run pipelines.verdicts only."""
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


SPOOL_BYTES_PER_LOAD = 64 << 20  # the warehouse loads spool files in bulk, a few chunks' worth at a time


def stage(
    warehouse: Warehouse,
    chunks: Iterable[Chunk],
    run_id: str,
    spool_dir: Path,
    on_dead: Callable[[list[DeadLetter]], None],
    workers: int,
) -> int:
    """Judge every chunk; candidates go into raw.events (settled afterwards), dead letters to `on_dead`. Returns
    how many inputs were received."""
    received = 0
    waiting: list[Path] = []
    # The warehouse loads one batch in a thread (its engine releases the GIL) while this one keeps the workers fed.
    event_columns = tuple(column for column in EVENT_COLUMNS if column not in LANDING_COLUMNS)
    bulk_columns = {name: EVENT_COLUMNS[name] for name in (*event_columns, *LANDING_COLUMNS)}  # a CSV row's order
    csv_columns = event_columns if warehouse.bulk_format == "csv" else ()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="warehouse-load") as loader:
        loading: Future[None] | None = None

        def load(batch: list[Path]) -> None:
            warehouse.load_bulk("raw.events", bulk_columns, batch)
            for path in batch:
                path.unlink()

        for verdicts in judged_chunks(chunks, run_id, str(spool_dir), workers, csv_columns):
            received += verdicts.received
            on_dead(verdicts.dead)
            if verdicts.spool:
                waiting.append(Path(verdicts.spool))
                if sum(path.stat().st_size for path in waiting) >= SPOOL_BYTES_PER_LOAD:
                    if loading:
                        loading.result()
                    loading = loader.submit(load, waiting)
                    waiting = []
        if loading:
            loading.result()
    load(waiting)
    return received


# Processing order within a source: received_at, then the file path (or `event_landing`) and the line (or landing
# id) of source_ref `path:number`.
def _processing_order(table: str = "") -> str:
    column = f"{table}." if table else ""
    ref = f"{column}source_ref"
    return (
        f"{column}received_at, regexp_replace({ref}, ':[0-9]+$', ''), cast(regexp_replace({ref}, '^.*:', '') as bigint)"
    )


_LOSERS = """
create temp table run_losers as
with mine as (
    select event_id, raw_sha256, source, source_ref, received_at from raw.events
     where run_id = ? and source in ({sources})
),
repeated as (
    select event_id from mine group by event_id having count(*) > 1
),
earlier as (  -- accepted before this run
    select e.event_id, e.raw_sha256 from raw.events e join (select distinct event_id from mine) m using (event_id)
     where not (e.run_id = ? and e.source in ({sources}))
),
contested as (
    select m.*, row_number() over (partition by m.event_id order by {order}) as position
      from mine m
     where m.event_id in (select event_id from repeated) or m.event_id in (select event_id from earlier)
)
select c.source, c.source_ref, c.position,
       c.raw_sha256 = coalesce(earlier.raw_sha256, first.raw_sha256) as same_bytes
  from contested c
  join contested first on first.event_id = c.event_id and first.position = 1
  left join earlier on earlier.event_id = c.event_id
 where earlier.event_id is not null or c.position > 1
"""


def settle(warehouse: Warehouse, run_id: str, sources: list[str], on_dead: Callable[[list[DeadLetter]], None]) -> int:
    """Keep the first candidate of each new event id; the others leave raw.events as duplicates (returned as a
    count) or `event_id_conflict` dead letters (to `on_dead`, in processing order)."""
    placeholders = ", ".join("?" for _ in sources)
    this_run = [run_id, *sources]
    warehouse.run(_LOSERS.format(sources=placeholders, order=_processing_order()), [*this_run, *this_run])
    duplicates = int(warehouse.scalar("select count(*) from run_losers where same_bytes") or 0)
    conflicts = warehouse.rows(
        "select e.source, e.source_ref, e.received_at, e.raw, e.event_id, e.event_name from raw.events e "  # noqa: S608
        "join run_losers l on l.source = e.source and l.source_ref = e.source_ref "
        f"where not l.same_bytes and e.run_id = ? and e.source in ({placeholders}) "
        f"order by {_processing_order('e')}",
        this_run,
    )
    on_dead(
        [
            DeadLetter(
                run_id=run_id,
                source=source,
                source_ref=source_ref,
                received_at=received_at,
                reason_code="event_id_conflict",
                errors=[
                    {
                        "path": "$.event_id",
                        "message": "an accepted event has this id with other bytes",
                        "reason": "event_id_conflict",
                    }
                ],
                raw=raw.encode("utf-8"),
                event_id=event_id,
                event_name=event_name,
            )
            for source, source_ref, received_at, raw, event_id, event_name in conflicts
        ]
    )
    warehouse.run(
        f"delete from raw.events where run_id = ? and source in ({placeholders}) "  # noqa: S608 (placeholders)
        "and (source, source_ref) in (select source, source_ref from run_losers)",
        this_run,
    )
    warehouse.run("drop table run_losers")
    return duplicates


SPOOL_PREFIX = "patronage-ingest-"  # a run's spool directory: patronage-ingest-<pid>@<host>-<random>


def _remove_abandoned_spools(root: Path) -> None:
    """Spool directories of this machine's runs whose process is gone (killed: nothing else leaves one behind)."""
    for spool in root.glob(f"{SPOOL_PREFIX}*-*"):
        if abandoned(spool.name.removeprefix(SPOOL_PREFIX).rsplit("-", 1)[0]):
            shutil.rmtree(spool, ignore_errors=True)


def ingest(
    warehouse: Warehouse,
    dead_letter_dir: PathOrUrl,
    *,
    run_id: str,
    source: str,
    chunks: Iterable[Chunk],
    started_at: datetime,
    position: int | None = None,
    files: list[tuple[str, str, int, datetime]] | None = None,
    workers: int | None = None,
) -> Audit:
    """Judge, settle and commit one run of one source atomically; raises ConservationError (writing nothing) if an
    input went missing. `files`: (sha256, path, bytes, modified) of the landing files the run covers."""
    staged: list[str] = []

    def committed(earlier_run: str) -> bool:
        return bool(
            warehouse.scalar(
                "select count(*) from marts.ingestion_audit where run_id = ? and source = ?", [earlier_run, source]
            )
        )

    store.recover(dead_letter_dir, source, committed)  # a killed run's dead-letter files, finished or removed
    root = warehouse.spool_root()  # where the warehouse's bulk reader reaches the files
    _remove_abandoned_spools(root)
    with tempfile.TemporaryDirectory(prefix=f"{SPOOL_PREFIX}{owner_tag()}-", dir=root) as spool:
        try:
            with warehouse.transaction():
                dead = DeadLetterFiles(run_id, Path(spool))
                received = stage(warehouse, chunks, run_id, Path(spool), dead.add, workers or os.cpu_count() or 1)
                warehouse.bulk_loaded("raw.events", received - dead.count)
                duplicates = settle(warehouse, run_id, [source], dead.add)
                insert_rows(warehouse, dead.spools)
                accepted = int(
                    warehouse.scalar(
                        "select count(*) from raw.events where run_id = ? and source = ?", [run_id, source]
                    )
                )
                audit = Audit(
                    run_id=run_id,
                    source=source,
                    received=received,
                    accepted=accepted,
                    duplicates=duplicates,
                    dead_lettered=dead.count,
                    started_at=started_at,
                    finished_at=datetime.now(UTC),
                )
                if not audit.conserved:
                    raise ConservationError(
                        f"run {run_id} ({source}): received {audit.received} != accepted {audit.accepted} + "
                        f"duplicates {audit.duplicates} + dead-lettered {audit.dead_lettered}"
                    )
                warehouse.run(
                    "insert into marts.ingestion_audit values (?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        run_id,
                        source,
                        audit.received,
                        accepted,
                        duplicates,
                        audit.dead_lettered,
                        started_at,
                        audit.finished_at,
                    ],
                )
                if position is not None:
                    warehouse.upsert("raw.watermarks", ("source", "position"), ("source",), [(source, position)])
                for digest, path, size, modified in files or []:
                    warehouse.run(
                        "insert into raw.ingested_files (sha256, path, bytes, run_id, modified) values (?, ?, ?, ?, ?)",
                        [digest, path, size, run_id, modified],
                    )
                staged = dead.stage(dead_letter_dir, source)  # where readers do not look, until the commit
        except BaseException:
            store.discard(dead_letter_dir, staged)
            raise
    store.publish(dead_letter_dir, staged)
    return audit
