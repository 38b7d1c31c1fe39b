"""The one rule for "the database connection is unusable": an outage to answer 503, not a bug to answer 500.

Read from the driver's exception hierarchy (asyncpg 0.30+), not from messages, so every form a lost
server takes is one family: the socket failing (`OSError`, timeouts), the server's "connection"
and "shutting down" SQLSTATEs (class 08, 57P01-57P03, 53300), asyncpg's `InterfaceError` itself
("connection is closed") and its `InternalClientError`s, which mean the client's protocol state is
broken — e.g. a connection that read the server's shutdown message but was not closed yet answers
"cannot switch to state 12; another operation (2) is in progress" (issue 18). The engine
(`engine.py`), the driver-level reads (`hot.py`) and the error handler (`api/errors.py`) all ask here.
"""

from __future__ import annotations

from asyncpg import exceptions as pg
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

# The server refused, dropped or is shutting down the connection.
_SERVER_SIDE = (
    pg.PostgresConnectionError,  # SQLSTATE class 08: connection does not exist, failure, rejection
    pg.AdminShutdownError,  # 57P01: pg_ctl stop, pg_terminate_backend
    pg.CrashShutdownError,  # 57P02
    pg.CannotConnectNowError,  # 57P03: starting up or shutting down
    pg.TooManyConnectionsError,  # 53300
)
# The client's side of the connection is closed or its protocol state is broken.
_CLIENT_SIDE = (OSError, PoolTimeoutError, pg.InternalClientError)
# asyncpg subclasses that are about the statement, not the connection.
_NOT_THE_CONNECTION = (
    pg.OutdatedSchemaCacheError,  # a table changed under a cached statement: retried by the driver's caller
    pg.DataError,  # an argument of the wrong type
    pg.ClientConfigurationError,
    pg.UnsupportedClientFeatureError,
    pg.UnsupportedServerFeatureError,
)


def _unusable(exc: BaseException) -> bool:
    if isinstance(exc, _NOT_THE_CONNECTION):
        return False
    return isinstance(exc, (*_SERVER_SIDE, *_CLIENT_SIDE, pg.InterfaceError))


def is_connection_failure(exc: BaseException) -> bool:
    """True when `exc`, or any exception it was raised from (SQLAlchemy wraps the driver's), says the
    connection to PostgreSQL cannot be used: retry on a new connection later."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _unusable(current):
            return True
        current = current.__cause__ or current.__context__
    return False
