"""The dbt models as Dagster assets (their tests become asset checks)."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dagster import AssetExecutionContext
from dagster_dbt import DbtCliResource, dbt_assets

from pipelines.project import dbt_project, prepare_manifest
from pipelines.resources import PatronageConfig

# No `from __future__ import annotations` here: Dagster inspects the context parameter's real type.


@dbt_assets(manifest=prepare_manifest(), project=dbt_project)
def analytics_models(context: AssetExecutionContext, dbt: DbtCliResource, patronage: PatronageConfig) -> Iterator[Any]:
    """`dbt build`: staging, intermediate and marts models on the warehouse, with their tests."""
    with _environment("PATRONAGE_WAREHOUSE", str(patronage.settings.paths.warehouse)):  # read by profiles.yml
        yield from dbt.cli(["build"], context=context).stream()


@contextmanager
def _environment(name: str, value: str) -> Iterator[None]:
    """Set an environment variable for the dbt subprocess only, then restore it."""
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous
