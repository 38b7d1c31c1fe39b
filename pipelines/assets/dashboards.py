"""The static dashboards site, rebuilt from the marts after dbt (and after ingestion, for its audit panels)."""

from pathlib import Path

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset
from dagster_dbt import get_asset_key_for_model

from dashboards.build import build_site
from dashboards.definitions import marts_read
from pipelines.assets.analytics import analytics_models
from pipelines.assets.ingestion import landing_file_events, landing_table_events
from pipelines.resources import PatronageConfig

# No `from __future__ import annotations` here: Dagster inspects the context parameter's real type.

# The ingestion assets write these two marts directly; every other mart a panel reads is a dbt model.
WRITTEN_BY_INGESTION = frozenset({"ingestion_audit", "dead_letter_events"})
DBT_MARTS = sorted(marts_read() - WRITTEN_BY_INGESTION)


@asset(
    group_name="dashboards",
    compute_kind="html",
    deps=[
        *(get_asset_key_for_model([analytics_models], name) for name in DBT_MARTS),
        landing_table_events,
        landing_file_events,
    ],
    owners=["team:data", "team:finance"],  # product analytics' and finance's panels
)
def dashboards_site(context: AssetExecutionContext, patronage: PatronageConfig) -> MaterializeResult:  # type: ignore[type-arg]
    """`$PATRONAGE_DATA_DIR/dashboards/index.html`: every panel of dashboards/definitions.py, offline."""
    index = build_site(patronage.warehouse_at, Path(patronage.dashboards_dir))
    context.log.info(f"dashboards written to {index}")
    return MaterializeResult(metadata={"index": MetadataValue.path(str(index)), "bytes": index.stat().st_size})
