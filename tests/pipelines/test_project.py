"""How dbt reaches the warehouse: PATRONAGE_WAREHOUSE_URL selects and configures the `postgres` target;
otherwise the DuckDB file, by default `$PATRONAGE_DATA_DIR/warehouse.duckdb` (analytics.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.project import DBT_PROJECT_DIR, dbt_environment, dbt_profile, dbt_profiles_dir, postgres_target

# What dbt itself makes of profiles.yml under an environment (a process of its own: dbt's flags are global).
RENDER_PROFILE = """
import json, os
from argparse import Namespace
from dbt_common.context import set_invocation_context
from dbt.config.runtime import load_profile
from dbt.flags import set_from_args

set_invocation_context(os.environ.copy())
set_from_args(Namespace(profiles_dir=os.environ["PROFILES_DIR"]), None)
profile = load_profile(os.getcwd(), {}, None, None)  # the project is the working directory
keys = ("path", "host", "port", "user", "password", "database", "sslmode", "schema")
rendered = {k: getattr(profile.credentials, k, None) for k in keys}
print(json.dumps({"target": profile.target_name, **rendered, "threads": profile.threads}))
"""
PROFILE_VARIABLES = ("PATRONAGE_DBT_TARGET", "PATRONAGE_WAREHOUSE", "PATRONAGE_WAREHOUSE_URL", "PATRONAGE_DATA_DIR")


def rendered_profile(environment: dict[str, str], profiles_dir: Path = DBT_PROJECT_DIR) -> dict[str, object]:
    base = {
        name: value
        for name, value in os.environ.items()
        if name not in PROFILE_VARIABLES and not name.startswith("PATRONAGE_WAREHOUSE_PG_")
    }
    result = subprocess.run(
        [sys.executable, "-c", RENDER_PROFILE],
        env={**dbt_environment({**base, **environment}), "PROFILES_DIR": str(profiles_dir)},
        cwd=DBT_PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_the_warehouse_url_alone_selects_and_configures_the_postgres_target() -> None:
    profile = rendered_profile({"PATRONAGE_WAREHOUSE_URL": "postgresql://etl:p%40ss%2Fw@wh.internal:6543/marts_db"})
    assert profile == {
        "target": "postgres",
        "path": None,
        "host": "wh.internal",
        "port": 6543,
        "user": "etl",
        "password": "p@ss/w",
        "database": "marts_db",
        "sslmode": "",
        "schema": "public",
        "threads": 2,
    }


def test_url_forms_libpq_accepts() -> None:
    socket = postgres_target("postgres://postgres@/warehouse?host=%2Ftmp%2Fpg%20sock&sslmode=require")
    assert socket == {
        "PATRONAGE_DBT_TARGET": "postgres",
        "PATRONAGE_WAREHOUSE_PG_HOST": "/tmp/pg sock",
        "PATRONAGE_WAREHOUSE_PG_PORT": "5432",
        "PATRONAGE_WAREHOUSE_PG_USER": "postgres",
        "PATRONAGE_WAREHOUSE_PG_PASSWORD": "",
        "PATRONAGE_WAREHOUSE_PG_DBNAME": "warehouse",
        "PATRONAGE_WAREHOUSE_PG_SSLMODE": "require",
    }
    assert postgres_target("postgresql://analyst@db")["PATRONAGE_WAREHOUSE_PG_DBNAME"] == "analyst"  # libpq's default


def test_without_the_url_the_existing_variables_still_work() -> None:
    assert postgres_target(None) == {}
    assert postgres_target("postgresql://etl@wh/marts", "duckdb") == {}  # an explicit target wins
    legacy = rendered_profile(
        {
            "PATRONAGE_DBT_TARGET": "postgres",
            "PATRONAGE_WAREHOUSE_PG_HOST": "legacy.internal",
            "PATRONAGE_WAREHOUSE_PG_DBNAME": "old_marts",
        }
    )
    assert (legacy["target"], legacy["host"], legacy["database"]) == ("postgres", "legacy.internal", "old_marts")


def test_the_duckdb_file_defaults_to_the_data_dir(tmp_path: Path) -> None:
    assert rendered_profile({"PATRONAGE_DATA_DIR": f"{tmp_path}/"})["path"] == str(tmp_path / "warehouse.duckdb")
    chosen = tmp_path / "elsewhere.duckdb"
    assert rendered_profile({"PATRONAGE_DATA_DIR": str(tmp_path), "PATRONAGE_WAREHOUSE": str(chosen)}) == {
        "target": "duckdb",
        "path": str(chosen),
        "host": None,
        "port": None,
        "user": None,
        "password": None,
        "database": "elsewhere",
        "sslmode": None,
        "schema": "main",
        "threads": 2,
    }


def test_the_dagster_asset_s_profile_gives_every_value_profiles_yml_reads(tmp_path: Path) -> None:
    """dbt makes of the asset's profile what it makes of profiles.yml with the variables set, ignoring them."""
    url = "postgresql://etl:p%40ss@wh.internal:6543/marts_db?sslmode=require"
    duck = tmp_path / "w.duckdb"
    misleading = {"PATRONAGE_DBT_TARGET": "duckdb", "PATRONAGE_WAREHOUSE": str(tmp_path / "elsewhere.duckdb")}
    for warehouse, variables in ((url, {"PATRONAGE_WAREHOUSE_URL": url}), (duck, {"PATRONAGE_WAREHOUSE": str(duck)})):
        with dbt_profiles_dir(warehouse) as folder:
            assert rendered_profile(misleading, folder) == rendered_profile(variables)
    assert not (tmp_path / "elsewhere.duckdb").exists()


def test_a_relative_warehouse_is_the_same_file_for_dbt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # dbt runs in dbt_project/: a relative path would name another file there
    assert dbt_profile(Path("wh/w.duckdb"))["patronage"]["outputs"]["duckdb"]["path"] == str(
        tmp_path / "wh" / "w.duckdb"
    )
