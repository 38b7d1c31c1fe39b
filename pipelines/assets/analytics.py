"""The dbt models as Dagster assets (their tests become asset checks)."""

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from dagster import AssetExecutionContext
from dagster_dbt import DbtCliResource, dbt_assets

from pipelines.project import dbt_project, prepare_manifest, warehouse_environment
from pipelines.resources import PatronageConfig

# No `from __future__ import annotations` here: Dagster inspects the context parameter's real type.


@dbt_assets(manifest=prepare_manifest(), project=dbt_project)
def analytics_models(context: AssetExecutionContext, dbt: DbtCliResource, patronage: PatronageConfig) -> Iterator[Any]:
    """`dbt build`: staging, intermediate and marts models on the warehouse, with their tests."""
    environment = warehouse_environment(patronage.settings, os.environ.get("PATRONAGE_DBT_TARGET"))
    context.log.info(f"dbt target: {environment.get('PATRONAGE_DBT_TARGET', 'duckdb')}")
    with _environment(environment):  # read by profiles.yml
        yield from dbt.cli(["build"], context=context).stream()


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the dbt subprocess only, then restore them."""
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
