"""Engine and units of work. The app builds one `Database` in its lifespan; nothing connects at import.

The rule: a unit of work is `Database.transaction()`, begun only by a route (a controller, or the
idempotency wrapper for creating routes) or by a worker job (`<domain>/jobs.py`); services and
repositories receive its `AsyncSession` and never begin one. Driver-level statements (`api/db/hot.py`)
run inside repository functions only."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy import event
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from api.db.failures import is_connection_failure
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


_AFTER_COMMIT = "patronage.after_commit"
_IDLE_SESSIONS = 64


def after_commit(session: AsyncSession, action: Callable[[], Awaitable[None]]) -> None:
    """Run `action` once the unit of work has committed, never if it rolls back: effects outside
    PostgreSQL (deleting stored bytes, a process-wide cache) wait for the commit that makes them true.
    Actions run in order, without the session (it may already serve another unit of work); one that
    raises stops the rest, and its error is the request's answer."""
    session.info.setdefault(_AFTER_COMMIT, []).append(action)


def raise_after_commit(session: AsyncSession, error: Exception) -> None:
    """Answer `error` once this unit of work has committed: for a refusal whose state change must persist
    (an upload found expired is marked failed, and the PATCH is still refused)."""

    async def fail() -> None:
        raise error

    after_commit(session, fail)


def _invalidate_on_connection_failure(context: ExceptionContext) -> None:
    """SQLAlchemy's asyncpg dialect calls a connection lost only once the driver has closed it; one that read
    the server's shutdown message first fails with a protocol-state error instead and would go back to the
    pool. Any failure of the connection (`failures.py`) is a disconnect: that connection and the pool go."""
    if not context.is_disconnect and is_connection_failure(context.original_exception):
        context.is_disconnect = True


@dataclass
class Database:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    # Sessions whose unit of work ended cleanly, kept for the next one: making an AsyncSession costs a
    # status read a tenth of its CPU, and a closed session is as new (SQLAlchemy: usable again after close()).
    _idle: list[AsyncSession] = field(default_factory=list, repr=False)

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
        event.listen(engine.sync_engine, "handle_error", _invalidate_on_connection_failure)
        return cls(engine=engine, sessions=async_sessionmaker(engine, expire_on_commit=False))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits on success, rolls back on any exception; then its `after_commit` actions.

        The transaction begins with the first statement (or ORM change), so a unit of work that runs
        none costs no round trip and next to no CPU (2 µs with a reused session, against 80 for a
        `session.begin()` block): the status read's usual path answers with `hot.fetchrow_committed` alone."""
        session = self._idle.pop() if self._idle else self.sessions()
        began = False
        try:
            yield session
            began = session.in_transaction()
            if began:
                await session.commit()
        except BaseException:
            if session.in_transaction():
                began = True
                await session.rollback()
            raise
        finally:
            if began:
                await session.close()
        actions = session.info.pop(_AFTER_COMMIT, ())
        if not session.info and len(self._idle) < _IDLE_SESSIONS:
            self._idle.append(session)
        for action in actions:
            await action()

    async def dispose(self) -> None:
        await self.engine.dispose()
