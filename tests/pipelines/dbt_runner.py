"""Run dbt on a test warehouse, keeping dbt's target and logs out of the repository."""

from __future__ import annotations

import subprocess
from pathlib import Path

from pipelines.project import dbt_build as build
from stores.warehouse import WarehouseAt, is_postgres, is_spark


def warehouse_environment(where: WarehouseAt) -> dict[str, str]:
    """The variables that point the project (dbt, the CLI) at the test's warehouse, whatever the environment says."""
    if is_postgres(where):
        return {"PATRONAGE_WAREHOUSE_URL": str(where), "PATRONAGE_DBT_TARGET": "postgres"}
    if is_spark(where):
        return {"PATRONAGE_WAREHOUSE_URL": str(where)}
    return {"PATRONAGE_WAREHOUSE": str(where), "PATRONAGE_WAREHOUSE_URL": "", "PATRONAGE_DBT_TARGET": "duckdb"}


def dbt_build(warehouse: WarehouseAt, scratch: Path, *select: str) -> subprocess.CompletedProcess[str]:
    result = build(warehouse, scratch, select, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:]
    return result
