"""The pipeline end to end on N events, on both warehouses: NDJSON landing file → ingestion (contract validation,
row rules, dedupe, raw.events, dead letters, audit, one commit) → dbt build of every mart with its tests, against a
plain DuckDB scan of the same file. The peak RSS of the process tree (this process and its judging workers) is
sampled during each ingestion. dbt builds three times: the first on a new warehouse parses the whole project, every
later run reuses that parse (pipelines/project.py, dbt_target); the third is the Dagster asset's build, whose data
tests check the run's data (the unit tests check the code, and run with its tests). End to end counts that one.
After each bulk load, a few runs of 2,000 new events land one more file each beside it, as scheduled runs do: timed
against the same run on the empty warehouse, they show whether a run's time grows with the history.

    uv run python -m bench.pipeline_bench --events 1000000              # DuckDB and embedded PostgreSQL
    uv run python -m bench.pipeline_bench --events 1000000 10000000     # linearity: each size, then the ratio
    uv run python -m bench.pipeline_bench --engines duckdb --dbt           # DuckDB ingestion only
    uv run python -m bench.pipeline_bench --history-runs 0                # without the runs after the bulk load
    uv run python -m bench.pipeline_bench --dbt duckdb postgres           # the marts on both (slow on PostgreSQL)
    uv run python -m bench.pipeline_bench --engines duckdb postgres spark --dbt duckdb postgres spark  # issue 20

Spark (`spark://local`, a lake under the run's temporary directory) runs in this process's JVM, which the process
tree's CPU and RSS include.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import psutil
import psycopg2

from bench.validation_bench import write_events
from pipelines.project import dbt_build
from pipelines.runs import RunStores, ingest_landing_files
from stores import warehouse
from stores.warehouse import WarehouseAt

ROOT = Path(__file__).resolve().parent.parent
RECEIVED_AT = datetime(2026, 11, 27, 12, tzinfo=UTC).timestamp()  # the generated events' day
TARGETS = {"duckdb": 150_000, "postgres": 100_000}  # events/s of ingestion (issue 14)
ENGINES = [*TARGETS, "spark"]  # Spark (issue 20) has no target: its figures show what one machine costs it


def _ingest(where: RunStores) -> None:
    audit = ingest_landing_files(where, "bench")
    print(
        f"  ({warehouse.name(where.warehouse)}: accepted {audit.accepted:,}, "
        f"duplicates {audit.duplicates:,}, dead-lettered {audit.dead_lettered:,})",
        flush=True,
    )


def timed_with_peak_rss(where: RunStores) -> tuple[float, int, float]:
    """Wall seconds of the ingestion, run here as the CLI and Dagster run it; the peak resident memory of this
    process and its descendants (the judging workers), sampled every 50 ms; and their CPU seconds, which a busy
    machine does not inflate as it does the wall time (a worker's last 50 ms may go uncounted)."""
    peak = 0
    cpu: dict[int, float] = {}
    done = threading.Event()
    me = psutil.Process()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            with contextlib.suppress(psutil.Error):  # a worker that ended between the listing and the reading
                tree = [me, *me.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree))
                for process in tree[1:]:
                    times = process.cpu_times()
                    cpu[process.pid] = times.user + times.system
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    before = me.cpu_times()
    sampler.start()
    started = time.perf_counter()
    try:
        _ingest(where)
    finally:
        done.set()
        sampler.join()
    after = me.cpu_times()
    own = after.user + after.system - before.user - before.system
    return time.perf_counter() - started, peak, own + sum(cpu.values())


BENCH_PG = ROOT / ".patronage" / "bench-pg"


def postmaster() -> psutil.Process:
    return psutil.Process(int((BENCH_PG / "postmaster.pid").read_text().split()[0]))


def server_cpu_seconds(backends: int | None = None) -> float:
    """CPU seconds the embedded PostgreSQL has used so far: the postmaster, its live backends and the ones it has
    reaped (a run's backend ends with the run, so its time is counted once it is gone: with `backends`, wait up to
    5 s until no more than that many are left)."""
    server = postmaster()
    deadline = time.monotonic() + 5
    while backends is not None and len(server.children()) > backends and time.monotonic() < deadline:
        time.sleep(0.05)
    times = server.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    for backend in server.children():
        with contextlib.suppress(psutil.Error):
            total += sum(backend.cpu_times()[:2])
    return total


def postgres_warehouse() -> str:
    from api.db.embedded import start_embedded

    url = start_embedded(BENCH_PG, database="postgres").replace("+asyncpg", "")
    admin = psycopg2.connect(url)
    try:
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute("drop database if exists patronage_bench_warehouse with (force)")
            cursor.execute("create database patronage_bench_warehouse")
    finally:
        admin.close()
    return url.replace("/postgres?", "/patronage_bench_warehouse?")


def scan_seconds(landing_file: Path) -> float:
    started = time.perf_counter()
    with duckdb.connect() as connection:
        connection.execute(
            "select count(*) from read_ndjson_objects(?, ignore_errors = true)", [str(landing_file)]
        ).fetchall()
    return time.perf_counter() - started


SMALL_RUN = 2_000  # events a scheduled run finds new, for the runs on a long history


def small_run_seconds(where: RunStores, seed: int, received_at: float) -> float:
    """A run of SMALL_RUN new events landed beside everything before them (one more file in the landing directory)."""
    landing_file = Path(where.landing_dir) / f"small-{seed}.ndjson"
    write_events(landing_file, SMALL_RUN, 0.01, seed)
    os.utime(landing_file, (received_at, received_at))
    started = time.perf_counter()
    audit = ingest_landing_files(where, f"small-{seed}")
    seconds = time.perf_counter() - started
    if audit.received != SMALL_RUN:
        raise SystemExit(f"a run after the bulk load received {audit.received:,} events, not {SMALL_RUN:,}")
    return seconds


def run(events: int, engines: list[str], dbt_engines: list[str], history_runs: int = 0) -> dict[str, float]:
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "landing").mkdir()
        landing_file = root / "landing" / "events.ndjson"
        print(f"writing {events:,} events …", flush=True)
        write_events(landing_file, events, 0.01, 7)
        os.utime(landing_file, (RECEIVED_AT, RECEIVED_AT))
        scan = figures["scan"] = min(scan_seconds(landing_file) for _ in range(3))
        print(f"\n{events:,} events")
        print("| step | seconds | events/s | ratio to DuckDB scan | CPU s (process tree) | peak RSS | target |")
        print("|---|---|---|---|---|---|---|")

        def row(name: str, seconds: float, peak: int | None = None, goal: str = "", cpu: float | None = None) -> None:
            memory = f"{peak / 2**20:,.0f} MiB" if peak else ""
            busy = f"{cpu:.1f}" if cpu is not None else ""
            print(
                f"| {name} | {seconds:.1f} | {events / seconds:,.0f} | {seconds / scan:.1f} | {busy} | {memory} | {goal} |",
                flush=True,
            )

        row("DuckDB scan of the file (reference)", scan)
        for engine in engines:
            target: WarehouseAt = root / "warehouse.duckdb"
            if engine == "postgres":
                target = postgres_warehouse()
            elif engine == "spark":
                target = f"spark://local?lake={root / 'lake'}&cores=2"
            where = RunStores(target, root / f"dead_letter-{engine}", root / "landing", oltp_dsn="unused")
            if history_runs:  # the reference for the runs after the bulk load: one on the empty warehouse
                (root / f"first-{engine}").mkdir()
                first = small_run_seconds(
                    RunStores(target, where.dead_letter_dir, root / f"first-{engine}", "unused"), 1000, RECEIVED_AT
                )
            server_before = server_cpu_seconds() if engine == "postgres" else 0.0
            backends = len(postmaster().children()) if engine == "postgres" else 0
            seconds, peak, cpu = timed_with_peak_rss(where)
            figures[f"{engine} ingestion"] = seconds
            row(f"{engine}: ingestion", seconds, peak, f"≥ {TARGETS[engine]:,}/s" if engine in TARGETS else "", cpu)
            if engine == "postgres":  # the server's share: the bulk load, the set operations, the commit
                print(
                    f"  (PostgreSQL server CPU during the ingestion: {server_cpu_seconds(backends) - server_before:.1f} s)"
                )
            if history_runs:  # scheduled runs on this history: their time should not grow with it
                later = [small_run_seconds(where, 1001 + n, RECEIVED_AT + 60 * (n + 1)) for n in range(history_runs)]
                print(
                    f"  ({engine}: a run of {SMALL_RUN:,} new events on the empty warehouse {first:.2f} s; "
                    f"after these {events:,}: {', '.join(f'{s:.2f}' for s in later)} s, "
                    f"median {sorted(later)[len(later) // 2] / first:.1f}x)",
                    flush=True,
                )
                for landing_file in (root / "landing").glob("small-*"):
                    landing_file.unlink()  # the next engine's bulk load is the big file alone
            if engine not in dbt_engines:
                continue
            builds = []
            # The first parses the whole project; every later run on the warehouse reuses it. The last is the
            # Dagster asset's build: its data tests, not the unit tests (pipelines/project.py, PRODUCTION_BUILD).
            for unit_tests in (True, True, False):
                started = time.perf_counter()
                result = dbt_build(target, root / f"dbt-{engine}", unit_tests=unit_tests)
                builds.append(time.perf_counter() - started)
                if result.returncode != 0:
                    raise SystemExit(result.stdout[-3000:])
            row(f"{engine}: dbt build, first on this warehouse (full parse)", builds[0])
            row(f"{engine}: dbt build (all models, data and unit tests)", builds[1])
            row(f"{engine}: dbt build as the asset runs it (models and data tests)", builds[2])
            figures[f"{engine} end to end"] = seconds + builds[2]
            row(f"{engine}: end to end, with unit tests", seconds + builds[1])
            row(f"{engine}: end to end", seconds + builds[2], goal="≤ 20 s for 1M" if engine == "duckdb" else "")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=sorted(TARGETS))
    parser.add_argument(
        "--dbt", nargs="*", choices=ENGINES, default=["duckdb"], help="engines to build the marts on after"
    )
    parser.add_argument(
        "--history-runs",
        type=int,
        default=3,
        help=f"runs of {SMALL_RUN:,} new events after each bulk load, against one on the empty warehouse",
    )
    args = parser.parse_args()
    results = {events: run(events, args.engines, args.dbt, args.history_runs) for events in args.events}
    if len(results) > 1:
        smallest, largest = min(results), max(results)
        print(f"\ngrowth from {smallest:,} to {largest:,} events ({largest / smallest:.0f}x the events):")
        for step in results[smallest]:
            if step in results[largest]:
                print(f"  {step}: {results[largest][step] / results[smallest][step]:.1f}x")


if __name__ == "__main__":
    main()
