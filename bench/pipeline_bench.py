"""The pipeline end to end on N events: NDJSON landing file → validation and ingestion (raw.events, dead
letters, audit) → dbt build of every mart, against a plain DuckDB scan of the same file.

    uv run python -m bench.pipeline_bench --events 1000000
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from bench.validation_bench import write_events
from pipelines.project import dbt_build
from pipelines.runs import Locations, ingest_landing_files

RECEIVED_AT = datetime(2026, 11, 27, 12, tzinfo=UTC).timestamp()  # the generated events' day


def main(events: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "landing").mkdir()
        landing_file = root / "landing" / "events.ndjson"
        write_events(landing_file, events, 0.01, 7)
        os.utime(landing_file, (RECEIVED_AT, RECEIVED_AT))
        where = Locations(root / "warehouse.duckdb", root / "dead_letter", root / "landing", oltp_dsn="unused")

        started = time.perf_counter()
        with duckdb.connect() as connection:
            connection.execute(
                "select count(*) from read_ndjson_objects(?, ignore_errors = true)", [str(landing_file)]
            ).fetchall()
        scan = time.perf_counter() - started

        started = time.perf_counter()
        audit = ingest_landing_files(where, "bench")
        ingest = time.perf_counter() - started

        started = time.perf_counter()
        result = dbt_build({"PATRONAGE_WAREHOUSE": str(where.warehouse)}, root)
        build = time.perf_counter() - started
        if result.returncode != 0:
            raise SystemExit(result.stdout[-3000:])

    total = ingest + build
    print(f"{events:,} events: accepted {audit.accepted:,}, dead-lettered {audit.dead_lettered:,}")
    print("| step | seconds | events/s | ratio to DuckDB scan |")
    print("|---|---|---|---|")
    for name, seconds in (
        ("DuckDB scan of the file (reference)", scan),
        ("ingestion (validate + write)", ingest),
        ("dbt build (all models + tests)", build),
        ("end to end", total),
    ):
        print(f"| {name} | {seconds:.1f} | {events / seconds:,.0f} | {seconds / scan:.1f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    main(parser.parse_args().events)
