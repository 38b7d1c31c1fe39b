"""`make setup` leaves an environment whose processes start fast: the installed packages' bytecode is written when
they are installed (`uv sync --compile-bytecode`), so a process that imports dagster or dbt reads it rather than
compiling them again, which costs about 4 s of CPU each where PYTHONDONTWRITEBYTECODE is set (bench/README.md)."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

import pytest


@pytest.mark.parametrize("module", ["dagster", "dagster_dbt", "dbt.cli.main", "dbt.adapters.duckdb", "litestar"])
def test_installed_packages_are_imported_from_their_bytecode(module: str) -> None:
    source = importlib.import_module(module).__file__
    assert source is not None
    cached = Path(importlib.util.cache_from_source(source))
    assert cached.is_file(), f"{module} has no bytecode at {cached}: run `make setup` (uv sync --compile-bytecode)"
    assert cached.stat().st_mtime >= Path(source).stat().st_mtime
