"""Engine and transactions. The app builds one `Database` in its lifespan; nothing connects at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

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
        """The pooled asyncpg connection itself, for the hottest single-statement reads (no SQLAlchemy layer)."""
        async with self.engine.connect() as connection:
            raw = await connection.get_raw_connection()
            yield raw.driver_connection

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for hot single-statement reads: autocommit, so no BEGIN/COMMIT round trips."""
        async with self.engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            yield connection

    async def dispose(self) -> None:
        await self.engine.dispose()
