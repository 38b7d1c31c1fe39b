"""`patronage` console script: the API's, the pipeline's and the demo's commands behind one entry point."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from contextlib import suppress
from types import FrameType

import api.cli
import pipelines.cli
from api.settings import ConfigError, Settings, load_settings

# Exit status of a command stopped by SIGTERM or SIGINT once it has finished or rolled back what was in flight:
# 0 for the long-running ones, whose normal end is being stopped; 128 + the signal's number (143, 130) for
# the others, which did not get to the end of their work.
STOPPED_CLEANLY = frozenset({"serve", "worker", "demo", "ui"})
UI_GRACE_SECONDS = 6.0  # for `dagster dev` to stop its webserver, daemon and code servers before they are killed


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGINT, raised in the main thread: the same unwinding as Ctrl-C (every `finally` and
    `atexit` runs, the embedded PostgreSQL's last user stops it), whichever of the two was sent."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _stop(signum: int, _: FrameType | None) -> None:
    raise Stopped(signum)


def stop_on_signals() -> None:
    """SIGTERM and SIGINT both stop the command, even when it was started with them ignored (a background
    job of a script, some supervisors). One handler for both: a library that maps SIGTERM onto SIGINT's
    handler (Dagster's in-process execution does) and restores them afterwards leaves them as found."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _stop)


FROM_SOURCE_ONLY = "patronage demo: the demo runs from a source checkout (`make demo`), not from an installed package"


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    if not 2 <= args.users <= 5000 or not 1 <= args.days <= 30:
        print("patronage demo: --users is 2..5000 and --days 1..30 (client events older than 30 days are stale)")
        return 2
    try:
        from devtools.demo import run_demo  # development tools: absent from the wheel
    except ModuleNotFoundError as missing:
        if missing.name not in ("devtools", "devtools.demo"):
            raise
        print(FROM_SOURCE_ONLY, file=sys.stderr)
        return 2
    return run_demo(
        settings, host=args.host, port=args.port, keep_serving=not args.once, users=args.users, days=args.days
    )


def _ui(args: argparse.Namespace, settings: Settings) -> int:
    """`dagster dev` on the pipelines' definitions, stopped within 10 s by SIGTERM or SIGINT.

    `dagster dev` maps SIGTERM onto SIGINT's handler, so started with SIGINT ignored (a script's background
    job) it ignores both; and stopped, it leaves code servers waiting out a heartbeat. Here it runs in a
    session of its own with default signal dispositions; a stop asks it as Ctrl-C does, then after
    UI_GRACE_SECONDS kills whatever of its process group is left (a run in flight commits atomically or not
    at all, so nothing is left half-written).
    """
    home = pipelines.cli.prepare_dagster_home(settings)
    command = [
        sys.executable,
        "-m",
        "dagster",
        "dev",
        "-m",
        "pipelines.definitions",
        "-h",
        args.host,
        "-p",
        str(args.port),
    ]
    ui = subprocess.Popen(  # noqa: S603 (our own dagster, our own definitions)
        command, env={**os.environ, "DAGSTER_HOME": str(home)}, start_new_session=True
    )
    try:
        return ui.wait()
    except KeyboardInterrupt:
        for signum in (signal.SIGTERM, signal.SIGINT):  # a second signal must not cut the stopping short
            signal.signal(signum, signal.SIG_IGN)
        os.killpg(ui.pid, signal.SIGINT)
        with suppress(subprocess.TimeoutExpired):
            ui.wait(timeout=UI_GRACE_SECONDS)
        with suppress(ProcessLookupError):  # the group's last members: code servers, a run's process
            os.killpg(ui.pid, signal.SIGKILL)
        ui.wait()
        raise


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="patronage", description="Patronage backend and analytics platform.")
    sub = parser.add_subparsers(dest="command", required=True)
    api.cli.add_commands(sub)

    demo = sub.add_parser("demo", help="run the system on embedded defaults and show the result (source checkout)")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--once", action="store_true", help="exit after the walkthrough instead of serving on")
    demo.add_argument("--users", type=int, default=24, help="simulated app users (creators and supporters)")
    demo.add_argument("--days", type=int, default=7, help="days the users' sessions are spread over (1-30)")
    demo.set_defaults(run=_demo)

    pipelines.cli.add_commands(sub)

    ui = sub.add_parser("ui", help="the Dagster UI, schedules and sensor of the pipelines (dagster dev)")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(run=_ui)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for chatty in ("httpx", "aiohttp.access", "stripe", "alembic.runtime.plugins"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"patronage: configuration error: {exc}", file=sys.stderr)
        return 2
    run: Callable[[argparse.Namespace, Settings], int] = args.run
    stop_on_signals()
    try:
        return run(args, settings)
    except ConfigError as exc:  # found by the command itself (a setting that only its work checks): said the same way
        print(f"patronage {args.command}: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as stopped:  # Stopped, or a library's own KeyboardInterrupt on SIGINT
        signum = stopped.signum if isinstance(stopped, Stopped) else signal.SIGINT
        status = 0 if args.command in STOPPED_CLEANLY else 128 + signum
        print(
            f"patronage {args.command}: stopped by {signal.Signals(signum).name} (exit status {status})",
            file=sys.stderr,
        )
        return status


if __name__ == "__main__":
    sys.exit(main())
