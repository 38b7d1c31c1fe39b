"""The one place that knows where the dbt project is, and keeps its manifest current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from dagster_dbt import DbtProject

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"

DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))  # the environment's own dbt, PATH or not

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def _sources_newer_than(path: Path) -> bool:
    built = path.stat().st_mtime
    watched = [DBT_PROJECT_DIR / "dbt_project.yml", DBT_PROJECT_DIR / "profiles.yml"]
    for folder in ("models", "macros", "tests", "seeds"):
        watched += [p for p in (DBT_PROJECT_DIR / folder).rglob("*") if p.is_file()]
    return any(p.stat().st_mtime > built for p in watched)


def prepare_manifest() -> Path:
    """`dbt parse` when the manifest is missing or older than the project's files (never committed stale)."""
    manifest = dbt_project.manifest_path
    if not manifest.exists() or _sources_newer_than(manifest):
        subprocess.run(  # noqa: S603 (our own dbt, our own project)
            [
                DBT_EXECUTABLE,
                "parse",
                "--quiet",
                "--project-dir",
                str(DBT_PROJECT_DIR),
                "--profiles-dir",
                str(DBT_PROJECT_DIR),
            ],
            check=True,
            cwd=DBT_PROJECT_DIR,
        )
    return manifest


def dbt_build(
    environment: dict[str, str], scratch: Path, select: tuple[str, ...] = (), timeout: float = 1800
) -> subprocess.CompletedProcess[str]:
    """`dbt build` outside Dagster (tests, benchmarks), with target and logs under `scratch`.

    `environment` picks the warehouse (PATRONAGE_WAREHOUSE, or PATRONAGE_DBT_TARGET=postgres and its
    PATRONAGE_WAREHOUSE_PG_*); with `select`, only tests whose parents are all selected run.
    """
    import os

    command = [
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
        command += ["--select", *select, "--indirect-selection", "cautious"]
    return subprocess.run(  # noqa: S603 (our own dbt, our own project)
        command, env={**os.environ, **environment}, capture_output=True, text=True, timeout=timeout, check=False
    )
