"""Engine and transactions. The app builds one `Database` in its lifespan; nothing connects at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.util import greenlet_spawn

from api.settings import DatabaseSettings


def async_url(url: str) -> str:
    """Normalise any PostgreSQL URL to the asyncpg driver."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def resolve_database_url(settings: DatabaseSettings) -> str:
    """The server given by `DATABASE_URL`, or the embedded one (started on first use)."""
    if settings.url is not None:
        return async_url(settings.url)
    from api.db.embedded import start_embedded

    return start_embedded(settings.embedded_dir)


@dataclass
class Database:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    @classmethod
    def connect(cls, url: str, *, pool_size: int = 10) -> Database:
        engine = create_async_engine(
            async_url(url),
            pool_size=pool_size,
            max_overflow=0,  # an overflow connection is closed on return: under load that is a backend fork per request
            # Optimistic disconnect handling: a ping per checkout would cost a round trip per request;
            # instead the first statement on a dead connection fails (503 + Retry-After) and SQLAlchemy
            # then invalidates the whole pool, so the retry gets fresh connections.
            pool_pre_ping=False,
            pool_timeout=10,
            connect_args={"timeout": 5, "server_settings": {"application_name": "patronage"}},
        )
        return cls(engine=engine, sessions=async_sessionmaker(engine, expire_on_commit=False))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits on success, rolls back on any exception."""
        async with self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def driver(self) -> AsyncIterator[Any]:
        """The pooled asyncpg connection itself, for the hottest statements (no SQLAlchemy layer).

        Checked out without an `AsyncConnection` around it (half the client CPU of a status read's
        round trip). SQLAlchemy never sees what runs here, so it cannot notice a lost server: a
        connection found closed is invalidated here, and the pool with it (its other connections
        predate the loss too), as SQLAlchemy does when its own statements meet a disconnect.
        Otherwise a restarted server would be answered 503 by every read, for ever, as long as
        only these paths ran.
        """
        pooled = await self.engine.raw_connection()
        connection = pooled.driver_connection
        assert connection is not None  # a checked-out connection has its driver connection
        try:
            yield connection
        except BaseException as exc:
            if connection.is_closed():
                await greenlet_spawn(pooled.invalidate, exc)
                await self.engine.dispose()
            raise
        finally:
            await greenlet_spawn(pooled.close)  # back to the pool (a no-op reset: nothing began here)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for hot single-statement reads: autocommit, so no BEGIN/COMMIT round trips."""
        async with self.engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            yield connection

    async def dispose(self) -> None:
        await self.engine.dispose()
