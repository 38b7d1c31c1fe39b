"""Reverse ETL: the guardrail's current caps flow back to the API (`playback` in the feed)."""

from dagster import AssetExecutionContext, MaterializeResult, asset
from dagster_dbt import get_asset_key_for_model

from pipelines.assets.analytics import analytics_models
from pipelines.playback import write_playback_caps
from pipelines.resources import PatronageConfig
from stores import warehouse

# No `from __future__ import annotations` here: Dagster inspects the context parameter's real type.


@asset(
    group_name="reverse_etl",
    compute_kind="postgres",
    deps=[get_asset_key_for_model([analytics_models], "bitrate_guardrail_state")],
    owners=["team:data", "team:backend"],  # written by the pipeline, served by the API's feed
)
def playback_caps(context: AssetExecutionContext, patronage: PatronageConfig) -> MaterializeResult:  # type: ignore[type-arg]
    """OLTP playback_caps: each evaluated project's current max rendition (projects the API knows)."""
    where = patronage.run_stores()
    with warehouse.open_warehouse(where.warehouse, read_only=True) as store:
        rows = store.rows("select project_id, level, max_rendition, since from marts.bitrate_guardrail_state")
    written, unknown = write_playback_caps(where.oltp_dsn, rows)
    if unknown:
        context.log.warning(f"{unknown} evaluated project(s) are not in the OLTP database; their caps were skipped")
    return MaterializeResult(metadata={"caps_written": written, "unknown_projects": unknown})
