"""Every failure of the database connection is a 503 with Retry-After, whatever the driver's exception class."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from asyncpg import exceptions as pg
from litestar.testing import AsyncTestClient
from sqlalchemy.exc import DBAPIError

from api.app import create_app
from api.db import migrate
from api.db.embedded import start_embedded
from api.db.failures import is_connection_failure
from api.settings import Settings
from tests.api.db.half_open import half_open_relay
from tests.conftest import MakeUser

STOP = ["-w", "-t", "180", "-m", "fast", "stop"]


def _raised_from(cause: BaseException) -> BaseException:
    """`cause` as SQLAlchemy hands it on: a DBAPIError raised from the driver's exception."""
    try:
        try:
            raise cause
        except BaseException as inner:
            raise DBAPIError("select 1", None, inner) from inner
    except DBAPIError as outer:
        return outer


@pytest.mark.parametrize(
    "exc",
    [
        pg.InternalClientError("cannot switch to state 12; another operation (2) is in progress"),
        pg.ProtocolError("unexpected message"),
        pg.InterfaceError("connection is closed"),
        pg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        pg.AdminShutdownError("terminating connection due to administrator command"),
        pg.CrashShutdownError("terminating connection because of crash of another server process"),
        pg.CannotConnectNowError("the database system is shutting down"),
        pg.TooManyConnectionsError("sorry, too many clients already"),
        pg.ConnectionFailureError("could not receive data"),
        ConnectionResetError(104, "Connection reset by peer"),
        TimeoutError(),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_the_connection_failure_family_is_recognised_alone_and_wrapped(exc: BaseException) -> None:
    assert is_connection_failure(exc)
    assert is_connection_failure(_raised_from(exc))


@pytest.mark.parametrize(
    "exc",
    [
        pg.UniqueViolationError("duplicate key"),
        pg.QueryCanceledError("canceling statement due to statement timeout"),
        pg.DataError("invalid input for query argument $1"),
        pg.OutdatedSchemaCacheError("cached statement plan is invalid"),
        ValueError("a bug"),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_errors_about_the_statement_are_not_connection_failures(exc: BaseException) -> None:
    assert not is_connection_failure(exc)
    assert not is_connection_failure(_raised_from(exc))


@pytest.mark.slow
async def test_a_connection_that_read_the_shutdown_message_but_is_not_closed_is_a_503(
    tmp_path: Path, settings: Settings, make_user: MakeUser
) -> None:
    """Issue 18: `pg_ctl stop -m fast` sends each idle connection a FATAL, then closes it. A connection
    that read the FATAL but not yet the close failed its next statement with asyncpg's
    `InternalClientError: cannot switch to state 12`, answered 500. The relay holds the close back."""
    import pgserver
    from pgserver._commands import pg_ctl  # type: ignore[attr-defined]  # generated at import

    pgdata = tmp_path / "pg"
    await asyncio.to_thread(migrate.upgrade, start_embedded(pgdata))
    server = pgserver.get_server(pgdata)

    def socket_path() -> Path:
        info = server.get_postmaster_info()
        return Path(info.socket_dir) / f".s.PGSQL.{info.port}"

    supporter, creator = make_user("supporter"), make_user("creator")
    with half_open_relay(socket_path) as relay:
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{relay.port}/patronage"

        async def read_status() -> int:
            return (await client.get(f"/v1/supports/{uuid.uuid4()}", headers=supporter.headers)).status_code

        async with AsyncTestClient(create_app(settings, database_url=url)) as client:
            assert await asyncio.gather(*(read_status() for _ in range(4))) == [404] * 4  # pooled, statements cached
            assert (await client.get("/v1/feed", headers=creator.headers)).status_code == 200

            await asyncio.to_thread(pg_ctl, STOP, pgdata=pgdata, user=server.system_user)
            await asyncio.to_thread(relay.wait_for_server_closes, 1)  # the pooled connection got the FATAL, kept open
            for path, headers in ((f"/v1/supports/{uuid.uuid4()}", supporter.headers), ("/v1/feed", creator.headers)):
                response = await client.get(path, headers=headers)
                assert response.status_code == 503, response.text
                assert response.json()["code"] == "service_unavailable"
                assert int(response.headers["retry-after"]) > 0

            await asyncio.to_thread(server.ensure_postgres_running)
            # The broken connections were dropped, not pooled again: the next reads reach the server.
            reads = [await read_status() for _ in range(3)]
            assert reads[-1] == 404, reads
            assert set(reads) <= {404, 503}
            assert (await client.get("/v1/feed", headers=creator.headers)).status_code == 200
    await asyncio.to_thread(server.cleanup)  # the last user leaves: stopped, its data kept
