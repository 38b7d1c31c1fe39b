"""Run dbt on a test warehouse, keeping dbt's target and logs out of the repository."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from pipelines.project import DBT_EXECUTABLE, DBT_PROJECT_DIR


def dbt_build(warehouse: Path, scratch: Path, *select: str) -> subprocess.CompletedProcess[str]:
    args = [
        DBT_EXECUTABLE,
        "build",
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(scratch / "target"),
        "--log-path",
        str(scratch / "logs"),
    ]
    if select:
        args += ["--select", *select, "--indirect-selection", "cautious"]
    result = subprocess.run(
        args,
        env={**os.environ, "PATRONAGE_WAREHOUSE": str(warehouse)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:]
    return result
