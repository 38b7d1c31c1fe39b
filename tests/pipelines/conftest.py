"""Pipeline fixtures: a warehouse, landing and dead-letter directories per test, over the test OLTP database."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.resources import libpq_dsn
from pipelines.runs import Locations


@pytest.fixture
def where(tmp_path: Path, database_url: str) -> Locations:
    (tmp_path / "landing").mkdir()
    return Locations(
        warehouse=tmp_path / "warehouse.duckdb",
        dead_letter_dir=tmp_path / "dead_letter",
        landing_dir=tmp_path / "landing",
        oltp_dsn=libpq_dsn(database_url),
    )
