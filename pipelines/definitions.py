"""The one Dagster code location: `dagster dev -m pipelines.definitions`."""

from __future__ import annotations

from dagster import AssetSelection, Definitions, ScheduleDefinition, define_asset_job, in_process_executor
from dagster_dbt import DbtCliResource

from pipelines.assets.analytics import analytics_models
from pipelines.assets.dashboards import dashboards_site
from pipelines.assets.dead_letters import dead_letter_replay_job
from pipelines.assets.extracts import oltp_extracts, provider_balance_transactions
from pipelines.assets.ingestion import landing_file_events, landing_table_events
from pipelines.assets.playback import playback_caps
from pipelines.project import DBT_EXECUTABLE, dbt_project
from pipelines.resources import OpsAlerts, PatronageConfig
from pipelines.sensors import landing_files_sensor

ingestion_job = define_asset_job("ingestion_job", selection=AssetSelection.groups("ingestion"))
analytics_job = define_asset_job(
    "analytics_job",
    selection=AssetSelection.groups("extracts", "reverse_etl", "dashboards") | AssetSelection.assets(analytics_models),
)

# DuckDB has one writer at a time: every job runs its steps one after another in one process.
defs = Definitions(
    executor=in_process_executor,
    assets=[
        landing_table_events,
        landing_file_events,
        oltp_extracts,
        provider_balance_transactions,
        analytics_models,
        playback_caps,
        dashboards_site,
    ],
    jobs=[ingestion_job, analytics_job, dead_letter_replay_job],
    schedules=[
        ScheduleDefinition(name="hourly_ingestion", job=ingestion_job, cron_schedule="5 * * * *"),
        ScheduleDefinition(name="daily_analytics", job=analytics_job, cron_schedule="30 2 * * *"),
    ],
    sensors=[landing_files_sensor],
    resources={
        "patronage": PatronageConfig(),
        "ops_alerts": OpsAlerts(),
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE),
    },
)
