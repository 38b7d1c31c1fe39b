"""A running app whose database goes away answers 503 with Retry-After, then recovers by itself."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.db import migrate
from api.db.embedded import start_embedded
from api.settings import Settings
from tests.api.projects.flows import project_body
from tests.conftest import MakeUser

STOP = ["-w", "-t", "180", "-m", "fast", "stop"]  # generous: CI machines can be busy


@pytest.mark.slow
async def test_stopping_the_database_under_a_running_app(
    tmp_path: Path, settings: Settings, make_user: MakeUser
) -> None:
    import pgserver
    from pgserver._commands import pg_ctl  # type: ignore[attr-defined]  # generated at import

    pgdata = tmp_path / "pg"
    url = start_embedded(pgdata)
    await asyncio.to_thread(migrate.upgrade, url)
    server = pgserver.get_server(pgdata)
    creator = make_user("creator")

    async with AsyncTestClient(create_app(settings, database_url=url)) as client:
        assert (await client.get("/v1/feed", headers=creator.headers)).status_code == 200

        await asyncio.to_thread(pg_ctl, STOP, pgdata=pgdata, user=server.system_user)
        for request in (
            client.get("/v1/feed", headers=creator.headers),
            client.post("/v1/projects", json=project_body(), headers=creator.posting()),
        ):
            response = await request
            assert response.status_code == 503, response.text
            assert response.json()["code"] == "service_unavailable"
            assert int(response.headers["retry-after"]) > 0

        await asyncio.to_thread(server.ensure_postgres_running)
        # Connections from before the restart are dropped on first use; a client honouring
        # Retry-After gets through on its next attempt at the latest.
        statuses = [(await client.get("/v1/feed", headers=creator.headers)).status_code for _ in range(2)]
        assert statuses[-1] == 200, statuses
        assert set(statuses) <= {200, 503}
    await asyncio.to_thread(pg_ctl, STOP, pgdata=pgdata, user=server.system_user)


@pytest.mark.slow
async def test_status_reads_alone_recover_after_a_restart(
    tmp_path: Path, settings: Settings, make_user: MakeUser
) -> None:
    """The status read (and event intake) run on the driver, where SQLAlchemy cannot see the restart:
    with nothing else running, the pool's dead connections must still be replaced."""
    import pgserver
    from pgserver._commands import pg_ctl  # type: ignore[attr-defined]  # generated at import

    pgdata = tmp_path / "pg"
    url = start_embedded(pgdata)
    await asyncio.to_thread(migrate.upgrade, url)
    server = pgserver.get_server(pgdata)
    supporter = make_user("supporter")

    async def read() -> int:
        return (await client.get(f"/v1/supports/{uuid.uuid4()}", headers=supporter.headers)).status_code

    async with AsyncTestClient(create_app(settings, database_url=url)) as client:
        assert await asyncio.gather(*(read() for _ in range(4))) == [404] * 4  # several pooled connections

        await asyncio.to_thread(pg_ctl, STOP, pgdata=pgdata, user=server.system_user)
        assert await read() == 503
        await asyncio.to_thread(server.ensure_postgres_running)
        reads = [await read() for _ in range(3)]
        assert reads[-1] == 404, reads  # the database answered again: there is no such support
        assert set(reads) <= {404, 503}
    await asyncio.to_thread(pg_ctl, STOP, pgdata=pgdata, user=server.system_user)
