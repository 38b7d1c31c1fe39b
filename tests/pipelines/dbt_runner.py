"""Run dbt on a test warehouse, keeping dbt's target and logs out of the repository."""

from __future__ import annotations

import subprocess
from pathlib import Path

from pipelines.project import dbt_build as build


def dbt_build(warehouse: Path, scratch: Path, *select: str) -> subprocess.CompletedProcess[str]:
    environment = {"PATRONAGE_WAREHOUSE": str(warehouse), "PATRONAGE_DBT_TARGET": "duckdb"}  # whatever the URL
    result = build(environment, scratch, select, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:]
    return result
