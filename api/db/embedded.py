"""The embedded PostgreSQL server (the `pgserver` package) used when `DATABASE_URL` is unset.

The cluster lives under the data dir and is reused across runs; pgserver counts the processes
holding it and stops the server when the last one exits.
"""

from __future__ import annotations

import logging
import re
import warnings
from pathlib import Path
from urllib.parse import quote

log = logging.getLogger(__name__)


def start_embedded(pgdata: Path, *, database: str = "patronage") -> str:
    """Start (or join) the embedded server and return a SQLAlchemy asyncpg URL for `database`."""
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, containers)
        warnings.simplefilter("ignore")
        import pgserver  # imported lazily: only the embedded path needs the bundled binaries

    logging.getLogger("pgserver").setLevel(logging.WARNING)

    pgdata.mkdir(parents=True, exist_ok=True)
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", database):
        raise ValueError(f"embedded database name must be a plain identifier, got {database!r}")
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    info = server.get_postmaster_info()
    socket_dir = str(info.socket_dir)
    exists = server.psql(f"select 1 from pg_database where datname = '{database}';")  # noqa: S608 (checked above)
    if "(1 row)" not in exists:
        server.psql(f'create database "{database}";')
    log.info("embedded PostgreSQL at %s (socket %s)", pgdata, socket_dir)
    return f"postgresql+asyncpg://postgres@/{database}?host={quote(socket_dir)}"
