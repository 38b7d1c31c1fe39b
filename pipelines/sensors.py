"""The landing-file sensor: a new file content in the landing directory starts an ingestion run."""

# No `from __future__ import annotations` here: Dagster inspects the context parameter's real type.

import hashlib
from collections.abc import Iterator

from dagster import RunRequest, SensorEvaluationContext, SkipReason, sensor

from api.settings import load_settings
from pipelines.sources import find_landing_files


@sensor(job_name="ingestion_job", minimum_interval_seconds=60)
def landing_files_sensor(context: SensorEvaluationContext) -> Iterator[RunRequest | SkipReason]:
    """The cursor is a digest of the set of file contents seen; a change requests one run."""
    files = find_landing_files(load_settings().paths.landing_dir)
    fingerprint = ",".join(sorted(f.sha256 for f in files))

    cursor = hashlib.sha256(fingerprint.encode()).hexdigest()
    if not files or cursor == context.cursor:
        yield SkipReason("no new landing files")
        return
    context.update_cursor(cursor)
    yield RunRequest(run_key=cursor)
