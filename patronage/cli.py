"""`patronage` console script: the API's, the pipeline's and the demo's commands behind one entry point."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

import api.cli
import pipelines.cli
from api.settings import ConfigError, Settings, load_settings

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
    return run(args, settings)


if __name__ == "__main__":
    sys.exit(main())
