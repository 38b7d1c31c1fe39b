"""How dbt reaches the warehouse: PATRONAGE_WAREHOUSE_URL selects and configures the `postgres` target;
otherwise the DuckDB file, by default `$PATRONAGE_DATA_DIR/warehouse.duckdb` (analytics.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines import project
from pipelines.project import (
    DBT_PROJECT_DIR,
    PARTIAL_PARSE,
    dbt_build,
    dbt_profile,
    dbt_profiles_dir,
    dbt_target,
    postgres_connection,
)
from stores.warehouse import open_warehouse

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
        env={**base, **environment, "PROFILES_DIR": str(profiles_dir)},
        cwd=DBT_PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def by_hand(url: str) -> dict[str, str]:
    """The variables profiles.yml reads for the `postgres` target, as README tells a person to set them."""
    return {
        "PATRONAGE_DBT_TARGET": "postgres",
        **{f"PATRONAGE_WAREHOUSE_PG_{name.upper()}": value for name, value in postgres_connection(url).items()},
    }


def test_the_warehouse_url_alone_configures_the_asset_s_postgres_target() -> None:
    with dbt_profiles_dir("postgresql://etl:p%40ss%2Fw@wh.internal:6543/marts_db") as folder:
        profile = rendered_profile({}, folder)
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
    socket = postgres_connection("postgres://postgres@/warehouse?host=%2Ftmp%2Fpg%20sock&sslmode=require")
    assert socket == {
        "host": "/tmp/pg sock",
        "port": "5432",
        "user": "postgres",
        "password": "",
        "dbname": "warehouse",
        "sslmode": "require",
    }
    assert postgres_connection("postgresql://analyst@db")["dbname"] == "analyst"  # libpq's default


def test_by_hand_the_variables_of_profiles_yml_choose_the_target() -> None:
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
    for warehouse, variables in ((url, by_hand(url)), (duck, {"PATRONAGE_WAREHOUSE": str(duck)})):
        with dbt_profiles_dir(warehouse) as folder:
            assert rendered_profile(misleading, folder) == rendered_profile(variables)
    assert not (tmp_path / "elsewhere.duckdb").exists()


def test_a_relative_warehouse_is_the_same_file_for_dbt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # dbt runs in dbt_project/: a relative path would name another file there
    assert dbt_profile(Path("wh/w.duckdb"))["patronage"]["outputs"]["duckdb"]["path"] == str(
        tmp_path / "wh" / "w.duckdb"
    )


def test_a_warehouse_keeps_its_parse_for_the_next_run_and_only_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dbt reuses a parse only under the profile that made it: the parse is kept per warehouse."""
    monkeypatch.setattr(project, "PARSE_STATE_DIR", tmp_path / "kept")
    first, other = tmp_path / "first.duckdb", tmp_path / "other.duckdb"
    with dbt_target(first, tmp_path / "run-1") as target:
        assert not (target / PARTIAL_PARSE).exists()  # a warehouse never built before
        (target / PARTIAL_PARSE).write_bytes(b"the parse of run 1")
    with dbt_target(first, tmp_path / "run-2") as target:
        assert (target / PARTIAL_PARSE).read_bytes() == b"the parse of run 1"
        (target / PARTIAL_PARSE).write_bytes(b"the parse of run 2")
    with dbt_target(other, tmp_path / "run-3") as target:
        assert not (target / PARTIAL_PARSE).exists()
    with dbt_target(first, tmp_path / "run-4") as target:
        assert (target / PARTIAL_PARSE).read_bytes() == b"the parse of run 2"


def test_only_the_warehouses_used_last_keep_their_parse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(project, "PARSE_STATE_DIR", tmp_path / "kept")
    warehouses = [tmp_path / f"w{number}.duckdb" for number in range(project.PARSE_STATES_KEPT + 2)]
    for number, warehouse in enumerate(warehouses):
        with dbt_target(warehouse, tmp_path / f"run-{number}") as target:
            (target / PARTIAL_PARSE).write_bytes(b"parse")
        os.utime(project._parse_state(warehouse), (number, number))  # used in this order
    kept = [warehouse for warehouse in warehouses if project._parse_state(warehouse).exists()]
    assert kept == warehouses[2:]


def test_the_second_build_on_a_warehouse_parses_only_what_changed(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    with open_warehouse(warehouse):
        pass  # raw.* exist, empty
    for run in ("run-1", "run-2"):
        result = dbt_build(warehouse, tmp_path / run, ("stg_events",))
        assert result.returncode == 0, result.stdout[-3000:]
    first, second = ((tmp_path / run / "logs" / "dbt.log").read_text() for run in ("run-1", "run-2"))
    assert "Unable to do partial parsing" in first
    assert "Unable to do partial parsing" not in second
    assert "Partial parsing enabled" in second


def test_a_new_manifest_replaces_the_old_one_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The definitions load the manifest while another process may be parsing (the UI's code server beside a run):
    dbt writes its own file in place, so the parse goes to a directory of its own and the result is renamed over
    the old manifest, which a reader that opened it still reads whole."""
    manifest = project.prepare_manifest()
    with manifest.open() as reading:
        before = os.fstat(reading.fileno()).st_ino
        monkeypatch.setattr(project, "_sources_newer_than", lambda path: True)  # as if a model had changed
        assert project.prepare_manifest() == manifest
        assert json.loads(reading.read())["nodes"]  # the old file, whole
    assert manifest.stat().st_ino != before
    assert json.loads(manifest.read_text())["nodes"]
    assert not list(manifest.parent.glob("parsing-*"))


def test_the_dbt_resource_knows_its_dbt_s_version_without_starting_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """dagster-dbt would run `dbt --version` (3 s) and open an adapter in Dagster's process (1 to 2 s) at every build;
    the version is dbt-core's own, and no asset here uses the adapter. If dagster-dbt renames either hook, this
    fails rather than the saving silently going away."""
    from dagster_dbt import DbtCliResource
    from dagster_dbt.core import resource

    assert {"_cli_version", "_initialize_dbt_core_adapter"} <= set(vars(DbtCliResource))
    told = subprocess.run([project.DBT_EXECUTABLE, "--version"], capture_output=True, text=True, check=True).stdout
    monkeypatch.setattr(resource, "check_output", lambda *_, **__: pytest.fail("dbt started to tell its version"))
    dbt = project.dbt_cli()
    assert f"installed: {dbt._cli_version}\n" in told
    assert dbt._initialize_dbt_core_adapter(["build"]) is None
