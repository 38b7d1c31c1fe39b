"""The one Dagster code location: `dagster dev -m pipelines.definitions`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, TypeVar

from dagster import (
    AssetSelection,
    Definitions,
    EnvVar,
    ExecutorDefinition,
    ScheduleDefinition,
    define_asset_job,
    definitions,
    in_process_executor,
    multiprocess_executor,
)

from api.settings import Settings, load_settings
from pipelines.assets.analytics import analytics_models, dbt_docs_site
from pipelines.assets.dashboards import dashboards_site
from pipelines.assets.dead_letters import dead_letter_replay_job
from pipelines.assets.extracts import oltp_extracts, provider_balance_transactions
from pipelines.assets.ingestion import landing_file_events, landing_table_events
from pipelines.assets.playback import playback_caps
from pipelines.project import dbt_cli
from pipelines.resources import OpsAlerts, PatronageConfig
from pipelines.sensors import landing_files_sensor
from stores.warehouse import is_postgres, is_spark

ingestion_job = define_asset_job("ingestion_job", selection=AssetSelection.groups("ingestion"))
analytics_job = define_asset_job(
    "analytics_job",
    selection=AssetSelection.groups("extracts", "analytics", "reverse_etl", "dashboards"),
)


Value = TypeVar("Value", str, str | None)


def _hidden(name: str, value: Value) -> Value:
    """A value that may hold a credential, as Dagster's EnvVar when the environment gave it: the UI shows only
    the variable's name (it shows plain resource values as they are), and the run reads the same value."""
    return EnvVar(name) if value is not None and os.environ.get(name) == value else value


def resources_for(settings: Settings) -> dict[str, Any]:
    """The resources of the environment `settings` describe: the one place the pipeline's configuration is read."""
    paths = settings.paths
    return {
        "patronage": PatronageConfig(
            warehouse=_hidden("PATRONAGE_WAREHOUSE_URL", paths.warehouse_url) or str(paths.warehouse),
            landing_dir=str(paths.landing_dir),
            dead_letter_dir=str(paths.dead_letter_dir),
            oltp_database=_hidden("DATABASE_URL", settings.database.url) or str(settings.database.embedded_dir),
            dashboards_dir=str(paths.data_dir / "dashboards"),
            provider_reports_dir=str(paths.provider_reports_dir),
            stripe_secret_key=_hidden("STRIPE_SECRET_KEY", settings.stripe.secret_key),
            stripe_api_base=settings.stripe.api_base,
            dead_letter_alert_rate=settings.dead_letter_alert_rate,
            ingest_workers=settings.ingest_workers,
        ),
        "ops_alerts": OpsAlerts(
            dev_sink=str(paths.data_dir / "outbox" / "ops.jsonl"),
            webhook_url=_hidden("PATRONAGE_OPS_WEBHOOK_URL", settings.notifications.ops_webhook_url),
        ),
        "dbt": dbt_cli(),
    }


def executor_for(settings: Settings) -> ExecutorDefinition:
    """Every job's executor, as PATRONAGE_DAGSTER_EXECUTOR says: `in_process` runs a job's steps one by one in the
    run's process; `multiprocess` runs each step in a process of its own, several at once on PostgreSQL and Spark.
    On DuckDB one at a time: every step opens the warehouse file (the checks, the docs, the caps and the dashboards
    read it), and a process that has it open for writing locks every other process out, readers too."""
    if settings.dagster.executor == "in_process":
        return in_process_executor
    where = settings.paths.warehouse_at
    if is_postgres(where) or is_spark(where):
        return multiprocess_executor  # up to one step per core
    return multiprocess_executor.configured({"max_concurrent": 1}, name="multiprocess_one_step_at_a_time")


def definitions_with(resources: Mapping[str, Any], executor: ExecutorDefinition = in_process_executor) -> Definitions:
    """Every asset, job, schedule and sensor, run with `resources` (tests and the CLI give their own), each job on
    `executor` (in-process by default: DuckDB has one writer at a time, so a job's steps run one by one)."""
    return Definitions(
        executor=executor,
        assets=[
            landing_table_events,
            landing_file_events,
            oltp_extracts,
            provider_balance_transactions,
            analytics_models,
            dbt_docs_site,
            playback_caps,
            dashboards_site,
        ],
        jobs=[ingestion_job, analytics_job, dead_letter_replay_job],
        schedules=[
            ScheduleDefinition(name="hourly_ingestion", job=ingestion_job, cron_schedule="5 * * * *"),
            ScheduleDefinition(name="daily_analytics", job=analytics_job, cron_schedule="30 2 * * *"),
        ],
        sensors=[landing_files_sensor],
        resources=resources,
    )


@definitions
def defs() -> Definitions:
    """What Dagster loads: the settings are read once, when the code location loads (never at import)."""
    settings = load_settings()
    return definitions_with(resources_for(settings), executor_for(settings))
