"""The one place that knows where the dbt project is, keeps its manifest current, and points dbt at the warehouse."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from dagster_dbt import DbtProject

from stores.warehouse import WarehouseAt, is_postgres

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


def postgres_connection(warehouse_url: str) -> dict[str, str]:
    """host, port, user, password, dbname and sslmode of a postgresql:// URL, with libpq's defaults.

    A socket directory may be given libpq's way, `?host=/run/postgresql`.
    """
    parts = urlsplit(warehouse_url)
    query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
    user = unquote(parts.username or "") or query.get("user") or "postgres"
    return {
        "host": query.get("host") or unquote(parts.hostname or "") or "127.0.0.1",
        "port": str(parts.port or query.get("port") or 5432),
        "user": user,
        "password": unquote(parts.password or "") or query.get("password", ""),
        "dbname": unquote(parts.path.lstrip("/")) or query.get("dbname") or user,
        "sslmode": query.get("sslmode", ""),
    }


def postgres_target(warehouse_url: str | None, target: str | None = None) -> dict[str, str]:
    """The variables profiles.yml reads for the `postgres` target, from PATRONAGE_WAREHOUSE_URL.

    Empty when the URL is unset or PATRONAGE_DBT_TARGET (`target`) names another target; then
    profiles.yml's own PATRONAGE_DBT_TARGET and PATRONAGE_WAREHOUSE_PG_* apply as they are.
    """
    if not warehouse_url or (target or "postgres") != "postgres":
        return {}
    connection = postgres_connection(warehouse_url)
    return {
        "PATRONAGE_DBT_TARGET": "postgres",
        **{f"PATRONAGE_WAREHOUSE_PG_{name.upper()}": value for name, value in connection.items()},
    }


def dbt_profile(warehouse: WarehouseAt) -> dict[str, Any]:
    """profiles.yml's `patronage` profile with one target, `warehouse`'s, every value given: no variable read."""
    if is_postgres(warehouse):
        connection: dict[str, Any] = postgres_connection(str(warehouse))
        output = {"type": "postgres", **connection, "port": int(connection["port"]), "schema": "public"}
    else:
        output = {"type": "duckdb", "path": str(Path(warehouse).absolute())}  # dbt runs in dbt_project/
    return {"patronage": {"target": output["type"], "outputs": {output["type"]: {**output, "threads": 2}}}}


@contextmanager
def dbt_profiles_dir(warehouse: WarehouseAt) -> Iterator[Path]:
    """A private directory holding `dbt_profile(warehouse)` as profiles.yml, removed afterwards (it may hold a
    password). The dbt asset passes it with `--profiles-dir`: dbt then reads no environment variable."""
    with tempfile.TemporaryDirectory(prefix="patronage-dbt-profile-") as folder:
        (Path(folder) / "profiles.yml").write_text(json.dumps(dbt_profile(warehouse)))  # JSON is YAML
        yield Path(folder)


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
