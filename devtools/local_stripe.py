"""The local Stripe emulator (the `localstripe` package) for tests and the demo, on loopback only.

`python -m devtools.local_stripe --port 8420` serves it; `serve_in_thread()` runs it inside a
test process. Unlike `python -m localstripe`, this binds 127.0.0.1 only and never pickles its
store to /tmp (two runs at once would overwrite each other's state). Its balance reads like
Stripe's: charge fees, payout and dispute balance transactions (`devtools/local_stripe_accounting.py`); its test
clock moves the time of what it creates (`devtools/local_stripe_clock.py`).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def _app(state_file: Path | None = None) -> Any:
    """The emulator's app; its objects persist in `state_file` when given (like Stripe's own history)."""
    import pickle

    import localstripe.resources as resources  # a dev dependency: imported only when the emulator runs
    from localstripe.server import app

    from devtools import local_stripe_accounting, local_stripe_clock

    def dump(store: Any) -> None:
        if state_file is not None:
            state_file.write_bytes(pickle.dumps(dict(store), protocol=pickle.HIGHEST_PROTOCOL))

    resources.Store.dump_to_disk = dump
    if state_file is not None and state_file.exists():
        dict.update(resources.store, pickle.loads(state_file.read_bytes()))  # noqa: S301 (our own file)
    # Ids from the OS, not the global `random` that test frameworks (hypothesis) reseed.
    resources.random = random.SystemRandom()
    local_stripe_accounting.install(app)  # fees, payout and dispute balance transactions, as Stripe records them
    local_stripe_clock.install(app)  # a test clock for the demo's history; webhooks signed when sent
    return app


@contextmanager
def serve_in_thread(port: int, state_file: Path | None = None) -> Iterator[str]:
    """Run the emulator on 127.0.0.1:`port` in a daemon thread; yields its base URL."""
    from aiohttp import web

    app = _app(state_file)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    runner = web.AppRunner(app)

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, name="localstripe", daemon=True)
    thread.start()
    if not ready.wait(30):
        raise RuntimeError("localstripe did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)


def main() -> None:
    from aiohttp import web

    parser = argparse.ArgumentParser(description="Local Stripe emulator on loopback")
    parser.add_argument("--port", type=int, default=8420)
    args = parser.parse_args()
    web.run_app(_app(), host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
