"""The dbt models as Dagster assets (their tests become asset checks), and the dbt docs site built from them.

The models' Dagster group (`analytics`), descriptions and owners come from the dbt project itself (dbt_project.yml,
models/groups.yml, each model's yml `config.meta.dagster.owners`): dagster-dbt's default translator reads them.
"""

import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset
from dagster_dbt import dbt_assets

from pipelines.project import (
    DBT_EXECUTABLE,
    DBT_PROJECT_DIR,
    PRODUCTION_BUILD,
    DbtCli,
    dbt_cli,
    dbt_executable,
    dbt_profiles_dir,
    dbt_project,
    dbt_target,
    modified_time,
    prepare_manifest,
    write_docs_site,
)
from pipelines.resources import PatronageConfig

# No `from __future__ import annotations` here: Dagster inspects the context parameter's real type.

DOCS_PAGE = "dbt-docs.html"  # beside the dashboards' index.html, which links it


BUILDS = DBT_PROJECT_DIR / "target"
BUILDS_KEPT = 16  # the newest builds' artifacts (manifest, run results, compiled SQL: ~14 MB each) stay to read
BUILD_IN_USE = 3600.0  # seconds: a folder written to this recently may be a build still running, or read next


def _build_prefix(run_id: str) -> str:
    """How the target folders of run `run_id`'s dbt builds start (one folder per build: a retry makes another)."""
    return f"analytics_models-{run_id[:8]}-"


@dbt_assets(manifest=prepare_manifest(), project=dbt_project)
def analytics_models(context: AssetExecutionContext, dbt: DbtCli, patronage: PatronageConfig) -> Iterator[Any]:
    """`dbt build`: staging, intermediate and marts models on the pipeline's warehouse, with their data tests (the
    unit tests run with the code's tests: PRODUCTION_BUILD)."""
    context.log.info(f"dbt target: {patronage.dbt_target}")
    run_folder = BUILDS / f"{_build_prefix(context.run.run_id)}{uuid.uuid4().hex[:7]}"
    with dbt_profiles_dir(patronage.warehouse_at) as profiles, dbt_target(patronage.warehouse_at, run_folder) as target:
        executable = dbt_executable(patronage.warehouse_at, profiles)
        if executable != DBT_EXECUTABLE:  # Spark's: dbt in a process that registered the lake, publishing its tables
            dbt = dbt_cli(executable)
        command = ["build", *PRODUCTION_BUILD, "--profiles-dir", str(profiles), "--target", patronage.dbt_target]
        yield from dbt.cli(command, context=context, target_path=target).stream()
    _prune_builds(time.time())


def _prune_builds(now: float) -> None:
    """Older builds' folders go, but the newest BUILDS_KEPT and any written to within BUILD_IN_USE: an hourly
    schedule would otherwise add a folder every hour for as long as it runs."""
    by_age = sorted(BUILDS.glob("analytics_models-*"), key=modified_time, reverse=True)
    for folder in by_age[BUILDS_KEPT:]:
        if now - modified_time(folder) > BUILD_IN_USE:
            shutil.rmtree(folder, ignore_errors=True)


@asset(
    group_name="analytics",
    compute_kind="dbt",
    owners=["team:data"],
    deps=[analytics_models],  # after every dbt model: the catalog is the warehouse the build left
)
def dbt_docs_site(context: AssetExecutionContext, patronage: PatronageConfig) -> MaterializeResult:  # type: ignore[type-arg]
    """`$PATRONAGE_DATA_DIR/dashboards/dbt-docs.html`: dbt's docs (every model, column and test, the lineage from
    the events to the exposures, the warehouse's catalog) as one self-contained page that opens offline."""
    built = sorted(BUILDS.glob(f"{_build_prefix(context.run.run_id)}*/manifest.json"), key=lambda p: p.stat().st_mtime)
    manifest = built[-1] if built else None  # this run's last build's; none when the run built no model
    started = time.monotonic()
    page = write_docs_site(patronage.warehouse_at, Path(patronage.dashboards_dir) / DOCS_PAGE, manifest=manifest)
    seconds = round(time.monotonic() - started, 1)
    context.log.info(f"dbt docs written to {page} in {seconds} s ({'the build' if manifest else 'a new'} manifest)")
    return MaterializeResult(
        metadata={"page": MetadataValue.path(str(page)), "bytes": page.stat().st_size, "seconds": seconds}
    )
