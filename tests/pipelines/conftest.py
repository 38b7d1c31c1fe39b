"""Pipeline fixtures: a warehouse, landing and dead-letter directories per test, over the test OLTP database."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.extras
import pytest

from pipelines.resources import PatronageConfig, libpq_dsn
from pipelines.runs import RunStores
from stores.warehouse import WarehouseAt, open_warehouse
from tests.conftest import _dsn, recreate_database


@dataclass(frozen=True)
class LocalRunStores(RunStores):
    """Local directories: tests write landed files and read dead letters with pathlib."""

    dead_letter_dir: Path
    landing_dir: Path

    def config(self, scratch: Path, **changes: Any) -> PatronageConfig:
        """The pipeline's resource over these stores, its outputs under `scratch`; `changes` set other fields."""
        fields: dict[str, Any] = {
            "warehouse": str(self.warehouse),
            "landing_dir": str(self.landing_dir),
            "dead_letter_dir": str(self.dead_letter_dir),
            "oltp_database": self.oltp_dsn,
            "dashboards_dir": str(scratch / "dashboards"),
            "provider_reports_dir": str(scratch / "provider_reports"),
        }
        return PatronageConfig(**(fields | changes))


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse_at(request: pytest.FixtureRequest, tmp_path: Path, admin_url: str, worker_id: str) -> WarehouseAt:
    """Each engine the warehouse runs on: a DuckDB file, or a fresh PostgreSQL database on the test server."""
    if request.param == "duckdb":
        return tmp_path / "warehouse.duckdb"
    prefix = os.environ.get("PATRONAGE_TEST_DB_PREFIX", "patronage_test")
    return _dsn(asyncio.run(recreate_database(admin_url, f"{prefix}_warehouse_{worker_id}")))


def query(where: RunStores, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Rows of a query on the test's warehouse (its port's `?` placeholders)."""
    with open_warehouse(where.warehouse, read_only=True) as store:
        return store.rows(sql, params)


@pytest.fixture
def where(tmp_path: Path, database_url: str, warehouse_at: WarehouseAt) -> LocalRunStores:
    (tmp_path / "landing").mkdir()
    return LocalRunStores(
        warehouse=warehouse_at,
        dead_letter_dir=tmp_path / "dead_letter",
        landing_dir=tmp_path / "landing",
        oltp_dsn=libpq_dsn(database_url),
    )


@dataclass(frozen=True)
class NotificationQueue:
    """The API's notification queue on the test OLTP database, as the pipeline leaves it."""

    dsn: str

    def queued(self) -> list[dict[str, Any]]:
        """Every delivery with its event, oldest first."""
        with (
            psycopg2.connect(self.dsn) as connection,
            connection.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cursor,
        ):
            cursor.execute(
                "select e.event_type, e.dedupe_key, e.payload, d.channel, d.recipient_id, d.status "
                "from notification_deliveries d join notification_events e using (notification_event_id) "
                "order by d.created_at, e.dedupe_key"
            )
            return [dict(row) for row in cursor.fetchall()]

    def empty(self) -> None:
        with psycopg2.connect(self.dsn) as connection, connection.cursor() as cursor:
            cursor.execute("truncate notification_deliveries, notification_events cascade")  # and push receipts


@pytest.fixture
def notification_queue(database_url: str) -> Iterator[NotificationQueue]:
    """Empty before and after the test (pipeline tests do not use the API's `client`, which would empty it)."""
    queue = NotificationQueue(libpq_dsn(database_url))
    queue.empty()
    yield queue
    queue.empty()
