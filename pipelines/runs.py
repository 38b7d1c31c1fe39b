"""Ingestion runs per source, as the Dagster assets and `patronage pipeline run` execute them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pipelines import sources
from pipelines.ingestion import Audit, ingest
from stores.files import PathOrUrl
from stores.warehouse import WarehouseAt, open_warehouse

MAX_ROWS_PER_RUN = 250_000


@dataclass(frozen=True)
class RunStores:
    """The stores an ingestion run reads and writes."""

    warehouse: WarehouseAt  # a DuckDB file or a postgresql:// URL
    dead_letter_dir: PathOrUrl  # a local directory or an object-store URL (stores/files.py)
    landing_dir: PathOrUrl
    oltp_dsn: str


def ingest_landing_table(
    where: RunStores, run_id: str, max_rows: int = MAX_ROWS_PER_RUN, workers: int | None = None
) -> Audit:
    started = datetime.now(UTC)
    with open_warehouse(where.warehouse) as warehouse:
        after = warehouse.scalar("select position from raw.watermarks where source = ?", [sources.TABLE_SOURCE])
        batch = sources.read_landing_table(where.oltp_dsn, after, max_rows)
        return ingest(
            warehouse,
            where.dead_letter_dir,
            run_id=run_id,
            source=sources.TABLE_SOURCE,
            chunks=batch.chunks(),
            started_at=started,
            position=batch.position,
            workers=workers,
        )


def ingest_landing_files(where: RunStores, run_id: str, workers: int | None = None) -> Audit:
    started = datetime.now(UTC)
    with open_warehouse(where.warehouse) as warehouse:
        ingested = warehouse.rows("select sha256, path, bytes, modified from raw.ingested_files")
        done = {digest for digest, *_ in ingested}
        unchanged = {(path, size, modified) for _, path, size, modified in ingested if modified is not None}
        undated = {(digest, path) for digest, path, _, modified in ingested if modified is None}  # recorded before
        fresh, dated = [], []
        for landing_file in sources.find_landing_files(where.landing_dir, unchanged):
            if landing_file.sha256 not in done:  # the same content under any name is ingested once
                done.add(landing_file.sha256)
                fresh.append(landing_file)
            elif (landing_file.sha256, landing_file.relative) in undated:
                dated.append(landing_file)
        fresh.sort(key=lambda f: (f.received_at, f.relative))
        audit = ingest(
            warehouse,
            where.dead_letter_dir,
            run_id=run_id,
            source=sources.FILES_SOURCE,
            chunks=sources.file_chunks(fresh),
            started_at=started,
            files=[(f.sha256, f.relative, f.size, f.received_at) for f in fresh],
            workers=workers,
        )
        if dated:  # an older warehouse's files: read once more, then known by their time too
            with warehouse.transaction():
                for landing_file in dated:
                    warehouse.mark(
                        "raw.ingested_files", "sha256", [landing_file.sha256], {"modified": landing_file.received_at}
                    )
        return audit
