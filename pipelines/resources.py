"""Dagster resources: where things are (from the PATRONAGE_* settings, read at run time) and ops alerts."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import httpx
from dagster import ConfigurableResource

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
            warehouse=settings.paths.warehouse,
            dead_letter_dir=settings.paths.dead_letter_dir,
            landing_dir=settings.paths.landing_dir,
            oltp_dsn=libpq_dsn(resolve_database_url(settings.database)),
        )

    @property
    def dead_letter_alert_rate(self) -> float:
        return self.settings.dead_letter_alert_rate


class OpsAlerts(ConfigurableResource):  # type: ignore[type-arg]
    """Ops alerts: POSTed as JSON to PATRONAGE_OPS_WEBHOOK_URL, or appended to the dev sink file."""

    def send(self, alert: dict[str, Any]) -> None:
        settings = load_settings()
        body = {"sent_at": datetime.now(UTC).isoformat(), **alert}
        url = settings.notifications.ops_webhook_url
        if url:
            response = httpx.post(url, json=body, timeout=10)
            response.raise_for_status()
            return
        sink = settings.paths.data_dir / "ops_alerts.ndjson"
        sink.parent.mkdir(parents=True, exist_ok=True)
        with sink.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(body) + "\n")
        log.warning("ops alert (dev sink %s): %s", sink, alert.get("summary"))
