"""Dagster resources: where the pipeline reads and writes, and ops alerts. Their fields are filled from the
settings in one place, `pipelines/definitions.py`; tests and the CLI may give their own."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import urlsplit

import asyncpg
from dagster import ConfigurableResource
from sqlalchemy.exc import SQLAlchemyError

from api.db.engine import Database
from api.notifications.channels import OpsWebhook, Outgoing, Sink
from api.notifications.matrix import MATRIX, NotificationType
from api.notifications.services import notify
from api.settings import DatabaseSettings
from pipelines.runs import RunStores
from stores.files import PathOrUrl
from stores.warehouse import WarehouseAt, is_postgres, is_spark

log = logging.getLogger(__name__)

LOCAL_STRIPE_KEY = "sk_test_patronage_local"  # the settings' placeholder: no Stripe account configured


def libpq_dsn(url: str) -> str:
    """SQLAlchemy-style URL → the libpq URI psycopg2 and dbt understand."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _where(value: str) -> PathOrUrl:
    """A URL stays the string it is; anything else is a local path."""
    return value if "://" in value else Path(value)


class PatronageConfig(ConfigurableResource):  # type: ignore[type-arg]
    """Where the pipeline reads and writes, and its thresholds: values given, never looked up in the environment."""

    warehouse: str  # a DuckDB file, a postgresql:// URL or a spark://local?lake=… one
    landing_dir: str  # a directory, or an object-store URL such as s3://bucket/landing
    dead_letter_dir: str  # likewise
    oltp_database: str  # a postgresql:// URL, or the embedded server's directory (started on first use)
    dashboards_dir: str
    provider_reports_dir: str
    stripe_secret_key: str = LOCAL_STRIPE_KEY
    stripe_api_base: str | None = None
    dead_letter_alert_rate: float = 0.01
    ingest_workers: int = 1  # processes that judge landed lines (1: in-process)

    @property
    def warehouse_at(self) -> WarehouseAt:
        return self.warehouse if is_postgres(self.warehouse) or is_spark(self.warehouse) else Path(self.warehouse)

    @property
    def dbt_target(self) -> Literal["duckdb", "postgres", "spark"]:
        """profiles.yml's target for this warehouse: dbt builds where the pipeline writes (on Spark through
        pipelines/dbt_spark.py, which the dbt asset starts: pipelines/project.py `dbt_executable`)."""
        if is_spark(self.warehouse):
            return "spark"
        return "postgres" if is_postgres(self.warehouse) else "duckdb"

    def run_stores(self) -> RunStores:
        from api.db.engine import resolve_database_url

        url = self.oltp_database if "://" in self.oltp_database else None
        database = DatabaseSettings(url=url, embedded_dir=Path(self.oltp_database))
        return RunStores(
            warehouse=self.warehouse_at,
            dead_letter_dir=_where(self.dead_letter_dir),
            landing_dir=_where(self.landing_dir),
            oltp_dsn=libpq_dsn(resolve_database_url(database)),
        )


class OpsAlerts(ConfigurableResource):  # type: ignore[type-arg]
    """Ops alerts through the API's notification queue (the worker's `ops` channel delivers them).

    When the OLTP database cannot be reached the alert is not lost: it goes straight to the `ops`
    channel's transport (`webhook_url`, else the dev sink `dev_sink`), logged.
    """

    dev_sink: str  # a JSON-lines file, `outbox/ops.jsonl` under the data dir
    webhook_url: str | None = None

    def send(self, alert: dict[str, Any], *, dedupe_key: str, database_url: str) -> str:
        """Queue `alert` (its `kind` is an ops-only notification type) once per `dedupe_key`; says where it went."""
        kind = cast(NotificationType, alert["kind"])
        if set(MATRIX[kind]) != {"ops"}:
            raise ValueError(f"{kind} is not an ops-only notification")
        payload = {key: value for key, value in alert.items() if key != "kind"}
        try:
            queued = asyncio.run(_queue(database_url, kind, dedupe_key, payload))
        except QUEUE_UNREACHABLE as exc:
            fallback = self.webhook_url or self.dev_sink
            log.warning(
                "notification queue unreachable (%s: %s): ops alert %s sent directly to %s",
                type(exc).__name__,
                exc,
                dedupe_key,
                _redacted(fallback),
            )
            asyncio.run(_send_directly(self, kind, dedupe_key, payload))
            return f"sent directly to {_redacted(fallback)} (notification queue unreachable)"
        return "queued for the ops channel" if queued else "already queued (not sent again)"


# Failures of the database or the way to it; anything else is a bug and fails the step.
QUEUE_UNREACHABLE = (OSError, SQLAlchemyError, asyncpg.PostgresError, asyncpg.InterfaceError)


async def _queue(database_url: str, kind: NotificationType, dedupe_key: str, payload: dict[str, Any]) -> bool:
    db = Database.connect(database_url, pool_size=1)
    try:
        async with db.transaction() as session:
            return await notify(
                session, kind, dedupe_key=dedupe_key, payload=payload, recipients={}, now=datetime.now(UTC)
            )
    finally:
        await db.dispose()


async def _send_directly(alerts: OpsAlerts, kind: NotificationType, dedupe_key: str, payload: dict[str, Any]) -> None:
    """The message the worker would send, with a delivery id of its own derived from the dedupe key."""
    message = Outgoing(
        delivery_id=uuid.uuid5(uuid.NAMESPACE_URL, f"patronage:{kind}:{dedupe_key}"),
        channel="ops",
        event_type=kind,
        payload={"type": kind, **payload},
        recipient_id=None,
        email=None,
        push_token=None,
    )
    transport = OpsWebhook(alerts.webhook_url) if alerts.webhook_url else Sink(Path(alerts.dev_sink))
    try:
        await transport.send(message)  # a refusal raises DeliveryFailed: the step fails, loudly
    finally:
        await transport.close()


def _redacted(url_or_path: str) -> str:
    """A webhook URL without its path and query (they often carry a token); a path as it is."""
    parts = urlsplit(url_or_path)
    return f"{parts.scheme}://{parts.hostname}" if parts.scheme and parts.hostname else url_or_path
