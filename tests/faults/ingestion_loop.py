"""The ingestion job, materialized again and again in this process (as the hourly schedule would, only sooner),
and the analytics job (dbt, extracts, reverse ETL, dashboards) once every `analytics_every` seconds, until
`stop_file` exists: the soak's concurrent pipeline runs. Prints one JSON line per run.

    python -m tests.faults.ingestion_loop STOP_FILE [ANALYTICS_EVERY_SECONDS]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from dagster import DagsterInstance

from api.settings import load_settings
from pipelines.definitions import definitions_with, resources_for


def main(stop_file: Path, analytics_every: float) -> int:
    defs = definitions_with(resources_for(load_settings()))
    analytics_due = time.monotonic() + analytics_every / 2
    with DagsterInstance.ephemeral() as instance:
        while not stop_file.exists():
            name = "ingestion_job"
            if time.monotonic() >= analytics_due:
                name, analytics_due = "analytics_job", time.monotonic() + analytics_every
            started = time.monotonic()
            result = defs.resolve_job_def(name).execute_in_process(instance=instance, raise_on_error=False)
            print(json.dumps({"job": name, "success": result.success, "seconds": time.monotonic() - started}))
            sys.stdout.flush()
            time.sleep(0.5)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1]), float(sys.argv[2]) if len(sys.argv) > 2 else 60))
