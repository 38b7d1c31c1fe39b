"""The embedded PostgreSQL server (the `pgserver` package) used when `DATABASE_URL` is unset.

The cluster lives under the data dir and is reused across runs. pgserver lists the processes using it
(`.handle_pids.json` in the cluster) and the last one to leave stops the server, at its exit. A process
that dies without leaving (SIGKILL, a crash) stays listed, and then nobody is ever last: the server would
run for ever. So every process forgets the dead when it joins and again when it leaves: a server a killed
process left running is adopted by the next command and stopped when that one exits.
"""

from __future__ import annotations

import atexit
import logging
import re
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psutil

log = logging.getLogger(__name__)
_LEAVING: set[Path] = set()  # the clusters this process will forget the dead of when it exits


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:  # gone (or not ours to see: then it is not one of the server's users either)
        return False


def forget_the_dead(server: Any) -> list[int]:
    """Drop the listed users that are no longer running; returns those that are."""
    with server._lock:  # pgserver's own inter-process lock, which guards the list
        listed = server.global_process_id_list
        users: list[int] = listed.get()
        alive = [pid for pid in users if _alive(pid)]
        if alive != users:
            log.info(
                "embedded PostgreSQL: forgetting users that died without leaving: %s", sorted(set(users) - set(alive))
            )
            listed.put(alive)
        return alive


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
    if pgdata not in _LEAVING:  # a process joins once however often it asks (the demo's API, worker, pipeline)
        _LEAVING.add(pgdata)
        # atexit runs handlers last-registered first: this one, before pgserver's own leaving (registered by
        # get_server), so that a dead user listed meanwhile does not keep the server from stopping.
        atexit.register(forget_the_dead, server)
    forget_the_dead(server)
    info = server.get_postmaster_info()
    socket_dir = str(info.socket_dir)
    exists = server.psql(f"select 1 from pg_database where datname = '{database}';")  # noqa: S608 (checked above)
    if "(1 row)" not in exists:
        server.psql(f'create database "{database}";')
    log.info("embedded PostgreSQL at %s (socket %s)", pgdata, socket_dir)
    return f"postgresql+asyncpg://postgres@/{database}?host={quote(socket_dir)}"
