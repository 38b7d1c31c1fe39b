"""An app under benchmark as its own uvicorn process on loopback: started, awaited, stopped cleanly."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from devtools.ports import free_port

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def uvicorn_server(
    factory: str, env: dict[str, str], *, workers: int = 1, wrapper: list[str] | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """`uvicorn <factory> --factory` on a free port (optionally under `wrapper`, e.g. a profiler),
    yielded once its `/healthz` answers; SIGINT at the end, so uvicorn and a wrapper shut down cleanly."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", factory, "--factory", "--port", str(port), "--workers", str(workers)]
    server = subprocess.Popen(
        [*(wrapper or []), *command, "--log-level", "warning", "--no-access-log"], env=env, cwd=ROOT
    )
    try:
        for _ in range(300):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"{factory} did not answer /healthz on port {port} within 30 s")
        yield server, port
    finally:
        server.send_signal(2)
        server.wait(timeout=60)
