"""The one place that knows where the dbt project is, keeps its manifest current, and points dbt at the warehouse."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from dagster_dbt import DbtProject

from api.settings import Settings

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


def postgres_target(warehouse_url: str | None, target: str | None = None) -> dict[str, str]:
    """The variables profiles.yml reads for the `postgres` target, from PATRONAGE_WAREHOUSE_URL.

    Empty when the URL is unset or PATRONAGE_DBT_TARGET (`target`) names another target; then
    profiles.yml's own PATRONAGE_DBT_TARGET and PATRONAGE_WAREHOUSE_PG_* apply as they are.
    A socket directory may be given libpq's way, `?host=/run/postgresql`.
    """
    if not warehouse_url or (target or "postgres") != "postgres":
        return {}
    parts = urlsplit(warehouse_url)
    query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
    user = unquote(parts.username or "") or query.get("user") or "postgres"
    return {
        "PATRONAGE_DBT_TARGET": "postgres",
        "PATRONAGE_WAREHOUSE_PG_HOST": query.get("host") or unquote(parts.hostname or "") or "127.0.0.1",
        "PATRONAGE_WAREHOUSE_PG_PORT": str(parts.port or query.get("port") or 5432),
        "PATRONAGE_WAREHOUSE_PG_USER": user,
        "PATRONAGE_WAREHOUSE_PG_PASSWORD": unquote(parts.password or "") or query.get("password", ""),
        "PATRONAGE_WAREHOUSE_PG_DBNAME": unquote(parts.path.lstrip("/")) or query.get("dbname") or user,
        "PATRONAGE_WAREHOUSE_PG_SSLMODE": query.get("sslmode", ""),
    }


def warehouse_environment(settings: Settings, target: str | None = None) -> dict[str, str]:
    """What profiles.yml reads: the DuckDB file, or the `postgres` target from PATRONAGE_WAREHOUSE_URL.

    `target` is an explicit PATRONAGE_DBT_TARGET, which wins over the URL.
    """
    return {
        "PATRONAGE_WAREHOUSE": str(settings.paths.warehouse),
        **postgres_target(settings.paths.warehouse_url, target),
    }


def dbt_environment(environment: Mapping[str, str]) -> dict[str, str]:
    """`environment` completed for dbt: PATRONAGE_WAREHOUSE_URL, when set, selects and configures `postgres`."""
    return {
        **environment,
        **postgres_target(environment.get("PATRONAGE_WAREHOUSE_URL"), environment.get("PATRONAGE_DBT_TARGET")),
    }


def dbt_build(
    environment: dict[str, str], scratch: Path, select: tuple[str, ...] = (), timeout: float = 1800
) -> subprocess.CompletedProcess[str]:
    """`dbt build` outside Dagster (tests, benchmarks), with target and logs under `scratch`.

    `environment` (over the process's own) picks the warehouse: PATRONAGE_WAREHOUSE_URL for PostgreSQL,
    else the DuckDB file PATRONAGE_WAREHOUSE; with `select`, only tests whose parents are all selected run.
    """
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
        command,
        env=dbt_environment({**os.environ, **environment}),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
