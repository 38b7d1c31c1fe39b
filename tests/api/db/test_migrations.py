"""Migrations: up, down and up again on an empty database, and no drift from the models."""

from __future__ import annotations

import asyncio
import os

import asyncpg
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from api.db import migrate
from api.db.models import Base
from tests.conftest import _dsn, recreate_database


async def tables(url: str) -> set[str]:
    conn = await asyncpg.connect(_dsn(url))
    try:
        rows = await conn.fetch("select tablename from pg_tables where schemaname = 'public'")
    finally:
        await conn.close()
    return {r["tablename"] for r in rows}


async def test_upgrade_downgrade_upgrade_on_an_empty_database(admin_url: str, worker_id: str) -> None:
    prefix = os.environ.get("PATRONAGE_TEST_DB_PREFIX", "patronage")
    url = await recreate_database(admin_url, f"{prefix}_migrations_{worker_id}")
    model_tables = {t.name for t in Base.metadata.sorted_tables}

    await asyncio.to_thread(migrate.upgrade, url)
    assert await tables(url) == model_tables | {"alembic_version"}
    assert "(head)" in await asyncio.to_thread(migrate.current, url)

    await asyncio.to_thread(migrate.downgrade, url, "base")
    assert await tables(url) == {"alembic_version"}

    await asyncio.to_thread(migrate.upgrade, url)
    assert await tables(url) == model_tables | {"alembic_version"}


async def test_models_and_migrations_agree(database_url: str) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata))
    finally:
        await engine.dispose()
    assert diff == []


def test_every_migration_is_date_prefixed_and_has_a_rollback_note() -> None:
    versions = sorted(migrate.MIGRATIONS_DIR.joinpath("versions").glob("*.py"))
    assert versions
    for path in versions:
        assert path.name[:10].replace("_", "").isdigit(), path.name
        assert "Rollback note:" in path.read_text(), path.name
        assert "<what `downgrade` loses" not in path.read_text(), f"{path.name}: fill in the rollback note"
