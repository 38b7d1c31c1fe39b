"""Warehouses to build the site from, on each engine: the marts corpus (tests/analytics/corpus.py), whose every mart
a dashboard reads has rows and whose finance carries a hostile provider id; and an empty warehouse beside it."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from stores.warehouse import WarehouseAt, is_postgres
from tests.analytics.corpus import ENGINES
from tests.analytics.corpus import marts_warehouse as corpus_warehouse
from tests.conftest import _dsn, recreate_database


@pytest.fixture(scope="session", params=ENGINES)
def marts_warehouse(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, admin_url: str, worker_id: str
) -> WarehouseAt:
    return corpus_warehouse(request.param, tmp_path_factory, admin_url, worker_id)


@pytest.fixture
def empty_warehouse(marts_warehouse: WarehouseAt, tmp_path: Path, admin_url: str, worker_id: str) -> WarehouseAt:
    """No warehouse yet on the engine of `marts_warehouse`: a DuckDB file to be, or a fresh PostgreSQL database."""
    if not is_postgres(marts_warehouse):
        return tmp_path / "empty.duckdb"
    prefix = os.environ.get("PATRONAGE_TEST_DB_PREFIX", "patronage_test")
    return _dsn(asyncio.run(recreate_database(admin_url, f"{prefix}_warehouse_{worker_id}")))
