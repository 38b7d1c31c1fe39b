"""Ingestion runs per source, as the Dagster assets and `patronage pipeline run` execute them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pipelines import sources, warehouse
from pipelines.ingestion import Audit, commit_run, judge, known_events
from pipelines.storage import Where

MAX_ROWS_PER_RUN = 250_000


@dataclass(frozen=True)
class Locations:
    warehouse: Path
    dead_letter_dir: Where  # a local directory or an object-store URL (pipelines/storage.py)
    landing_dir: Where
    oltp_dsn: str


def ingest_landing_table(where: Locations, run_id: str, max_rows: int = MAX_ROWS_PER_RUN) -> Audit:
    started = datetime.now(UTC)
    with warehouse.connect(where.warehouse) as connection:
        row = connection.execute(
            "select position from raw.watermarks where source = ?", [sources.TABLE_SOURCE]
        ).fetchone()
        batch = sources.read_landing_table(where.oltp_dsn, row[0] if row else None, max_rows)
        judged, received = judge(batch.inputs, run_id, known_events(connection))
        return commit_run(
            connection,
            where.dead_letter_dir,
            run_id=run_id,
            source=sources.TABLE_SOURCE,
            judged=judged,
            received=received,
            started_at=started,
            position=batch.position,
        )


def ingest_landing_files(where: Locations, run_id: str) -> Audit:
    started = datetime.now(UTC)
    with warehouse.connect(where.warehouse) as connection:
        done = {digest for (digest,) in connection.execute("select sha256 from raw.ingested_files").fetchall()}
        fresh = []
        for landing_file in sources.find_landing_files(where.landing_dir):
            if landing_file.sha256 not in done:  # the same content under any name is ingested once
                done.add(landing_file.sha256)
                fresh.append(landing_file)
        fresh.sort(key=lambda f: (f.received_at, f.relative))
        inputs = [item for landing_file in fresh for item in sources.file_inputs(landing_file)]
        judged, received = judge(inputs, run_id, known_events(connection))
        return commit_run(
            connection,
            where.dead_letter_dir,
            run_id=run_id,
            source=sources.FILES_SOURCE,
            judged=judged,
            received=received,
            started_at=started,
            files=[(f.sha256, f.relative, f.size) for f in fresh],
        )
