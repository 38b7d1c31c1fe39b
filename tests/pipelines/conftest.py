"""Pipeline fixtures: a warehouse, landing and dead-letter directories per test, over the test OLTP database."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from pipelines.resources import libpq_dsn
from pipelines.runs import Locations


@dataclass(frozen=True)
class LocalLocations(Locations):
    """Local directories: tests write landed files and read dead letters with pathlib."""

    dead_letter_dir: Path
    landing_dir: Path


@pytest.fixture
def where(tmp_path: Path, database_url: str) -> LocalLocations:
    (tmp_path / "landing").mkdir()
    return LocalLocations(
        warehouse=tmp_path / "warehouse.duckdb",
        dead_letter_dir=tmp_path / "dead_letter",
        landing_dir=tmp_path / "landing",
        oltp_dsn=libpq_dsn(database_url),
    )
