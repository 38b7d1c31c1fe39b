"""Dagster resources: where things are (from the PATRONAGE_* settings, read at run time) and ops alerts."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import urlsplit

import asyncpg
from dagster import ConfigurableResource
from sqlalchemy.exc import SQLAlchemyError

from api.db.engine import Database
from api.notifications.channels import Outgoing, ops_transport
from api.notifications.matrix import MATRIX, NotificationType
from api.notifications.services import notify
from api.settings import Settings, load_settings
from pipelines.runs import Locations

log = logging.getLogger(__name__)


def libpq_dsn(url: str) -> str:
    """SQLAlchemy-style URL → the libpq URI psycopg2 and dbt understand."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


class PatronageConfig(ConfigurableResource):  # type: ignore[type-arg]
    """The PATRONAGE_* configuration, resolved when a run starts (never at import)."""

    @property
    def settings(self) -> Settings:
        return load_settings()  # cached per process

    def locations(self) -> Locations:
        from api.db.engine import resolve_database_url

        settings = self.settings
        return Locations(
            warehouse=settings.paths.warehouse_at,
            dead_letter_dir=settings.paths.dead_letter_dir,
            landing_dir=settings.paths.landing_dir,
            oltp_dsn=libpq_dsn(resolve_database_url(settings.database)),
        )

    @property
    def dead_letter_alert_rate(self) -> float:
        return self.settings.dead_letter_alert_rate


class OpsAlerts(ConfigurableResource):  # type: ignore[type-arg]
    """Ops alerts through the API's notification queue (the worker's `ops` channel delivers them).

    When the OLTP database cannot be reached the alert is not lost: it goes straight to the `ops`
    channel's transport (PATRONAGE_OPS_WEBHOOK_URL, else the dev sink `outbox/ops.jsonl`), logged.
    """

    def send(self, alert: dict[str, Any], *, dedupe_key: str, database_url: str) -> str:
        """Queue `alert` (its `kind` is an ops-only notification type) once per `dedupe_key`; says where it went."""
        kind = cast(NotificationType, alert["kind"])
        if set(MATRIX[kind]) != {"ops"}:
            raise ValueError(f"{kind} is not an ops-only notification")
        payload = {key: value for key, value in alert.items() if key != "kind"}
        try:
            queued = asyncio.run(_queue(database_url, kind, dedupe_key, payload))
        except QUEUE_UNREACHABLE as exc:
            settings = load_settings()
            fallback = settings.notifications.ops_webhook_url or str(settings.paths.data_dir / "outbox" / "ops.jsonl")
            log.warning(
                "notification queue unreachable (%s: %s): ops alert %s sent directly to %s",
                type(exc).__name__,
                exc,
                dedupe_key,
                _redacted(fallback),
            )
            asyncio.run(_send_directly(settings, kind, dedupe_key, payload))
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


async def _send_directly(settings: Settings, kind: NotificationType, dedupe_key: str, payload: dict[str, Any]) -> None:
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
    transport = ops_transport(settings)
    try:
        await transport.send(message)  # a refusal raises DeliveryFailed: the step fails, loudly
    finally:
        await transport.close()


def _redacted(url_or_path: str) -> str:
    """A webhook URL without its path and query (they often carry a token); a path as it is."""
    parts = urlsplit(url_or_path)
    return f"{parts.scheme}://{parts.hostname}" if parts.scheme and parts.hostname else url_or_path
