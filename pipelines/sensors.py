"""The landing-file sensor: a new file content in the landing directory starts an ingestion run."""

# No `from __future__ import annotations` here: Dagster inspects the context parameter's real type.

import hashlib
from collections.abc import Iterator

from dagster import RunRequest, SensorEvaluationContext, SkipReason, sensor

from pipelines.resources import PatronageConfig
from pipelines.sources import LANDING_SUFFIXES
from stores.files import Location


@sensor(job_name="ingestion_job", minimum_interval_seconds=60)
def landing_files_sensor(
    context: SensorEvaluationContext, patronage: PatronageConfig
) -> Iterator[RunRequest | SkipReason]:
    """The cursor is a digest of the listing (name, size, modification time): a change requests one
    run. Only the listing is read, which matters in object storage; the run itself ingests each
    content once, so a renamed file costs a run that finds nothing new."""
    files = Location(patronage.landing_dir).files(*LANDING_SUFFIXES)
    fingerprint = ",".join(f"{f.relative}:{f.size}:{f.modified.isoformat()}" for f in files)

    cursor = hashlib.sha256(fingerprint.encode()).hexdigest()
    if not files or cursor == context.cursor:
        yield SkipReason("no new landing files")
        return
    context.update_cursor(cursor)
    yield RunRequest(run_key=cursor)
