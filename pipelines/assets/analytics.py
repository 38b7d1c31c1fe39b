"""The dbt models as Dagster assets (their tests become asset checks)."""

from collections.abc import Iterator
from typing import Any

from dagster import AssetExecutionContext
from dagster_dbt import DbtCliResource, dbt_assets

from pipelines.project import dbt_profiles_dir, dbt_project, prepare_manifest
from pipelines.resources import PatronageConfig

# No `from __future__ import annotations` here: Dagster inspects the context parameter's real type.


@dbt_assets(manifest=prepare_manifest(), project=dbt_project)
def analytics_models(context: AssetExecutionContext, dbt: DbtCliResource, patronage: PatronageConfig) -> Iterator[Any]:
    """`dbt build`: staging, intermediate and marts models on the pipeline's warehouse, with their tests."""
    context.log.info(f"dbt target: {patronage.dbt_target}")
    with dbt_profiles_dir(patronage.warehouse_at) as profiles:
        command = ["build", "--profiles-dir", str(profiles), "--target", patronage.dbt_target]
        yield from dbt.cli(command, context=context).stream()
