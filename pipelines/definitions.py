"""The one Dagster code location: `dagster dev -m pipelines.definitions`."""

from __future__ import annotations

from dagster import AssetSelection, Definitions, ScheduleDefinition, define_asset_job

from pipelines.assets.dead_letters import dead_letter_replay_job
from pipelines.assets.ingestion import landing_file_events, landing_table_events
from pipelines.resources import OpsAlerts, PatronageConfig
from pipelines.sensors import landing_files_sensor

ingestion_job = define_asset_job("ingestion_job", selection=AssetSelection.groups("ingestion"))

defs = Definitions(
    assets=[landing_table_events, landing_file_events],
    jobs=[ingestion_job, dead_letter_replay_job],
    schedules=[ScheduleDefinition(name="hourly_ingestion", job=ingestion_job, cron_schedule="5 * * * *")],
    sensors=[landing_files_sensor],
    resources={"patronage": PatronageConfig(), "ops_alerts": OpsAlerts()},
)
