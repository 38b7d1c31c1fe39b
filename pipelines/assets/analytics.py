"""The dbt models as Dagster assets (their tests become asset checks)."""

import uuid
from collections.abc import Iterator
from typing import Any

from dagster import AssetExecutionContext
from dagster_dbt import DbtCliResource, dbt_assets

from pipelines.project import DBT_PROJECT_DIR, dbt_profiles_dir, dbt_project, dbt_target, prepare_manifest
from pipelines.resources import PatronageConfig

# No `from __future__ import annotations` here: Dagster inspects the context parameter's real type.


@dbt_assets(manifest=prepare_manifest(), project=dbt_project)
def analytics_models(context: AssetExecutionContext, dbt: DbtCliResource, patronage: PatronageConfig) -> Iterator[Any]:
    """`dbt build`: staging, intermediate and marts models on the pipeline's warehouse, with their tests."""
    context.log.info(f"dbt target: {patronage.dbt_target}")
    run_folder = DBT_PROJECT_DIR / "target" / f"analytics_models-{context.run.run_id[:8]}-{uuid.uuid4().hex[:7]}"
    with dbt_profiles_dir(patronage.warehouse_at) as profiles, dbt_target(patronage.warehouse_at, run_folder) as target:
        command = ["build", "--profiles-dir", str(profiles), "--target", patronage.dbt_target]
        yield from dbt.cli(command, context=context, target_path=target).stream()
