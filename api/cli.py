"""The API's `patronage` commands: `serve`, `db`, `openapi`, `token`, `worker` (composed by `patronage.cli`)."""

from __future__ import annotations

import argparse
import json
import uuid
from pathlib import Path

from api.settings import Settings

OPENAPI_SNAPSHOT = Path(__file__).resolve().parent / "openapi.json"


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from api.app import create_app

    print(f"Patronage API listening on http://{args.host}:{args.port} (OpenAPI: /schema/openapi.json)", flush=True)
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info")
    return 0


def _database_url(settings: Settings) -> str:
    from api.db.engine import resolve_database_url

    return resolve_database_url(settings.database)


def _db(args: argparse.Namespace, settings: Settings) -> int:
    from api.db import migrate

    url = _database_url(settings)
    if args.action == "upgrade":
        migrate.upgrade(url, args.revision or "head")
    elif args.action == "downgrade":
        migrate.downgrade(url, args.revision or "-1")
    print(migrate.current(url) or "(no revision: empty database)")
    return 0


def openapi_document(settings: Settings) -> str:
    from api.app import create_app

    schema = create_app(settings).openapi_schema.to_schema()
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def _openapi(args: argparse.Namespace, settings: Settings) -> int:
    target = Path(args.output)
    target.write_text(openapi_document(settings))
    print(f"wrote {target}")
    return 0


def _token(args: argparse.Namespace, settings: Settings) -> int:
    from api.auth import Role, issue_token

    user_id = uuid.UUID(args.sub) if args.sub else uuid.uuid4()
    print(issue_token(settings.auth, user_id, Role(args.role), ttl_seconds=args.ttl))
    return 0


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio
    from datetime import timedelta

    from api.worker import run_worker

    url = _database_url(settings)
    if settings.auto_migrate:
        from api.db.migrate import upgrade

        upgrade(url)
    print(f"Patronage worker started (loops: {', '.join(args.only) or 'all'}); SIGTERM stops it cleanly", flush=True)
    lease = timedelta(seconds=args.lease_seconds)
    asyncio.run(run_worker(settings, url, once=args.once, only=args.only, lease=lease))
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    serve = sub.add_parser("serve", help="serve the HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(run=_serve)

    db = sub.add_parser("db", help="schema migrations")
    db.add_argument("action", choices=["upgrade", "downgrade", "current"])
    db.add_argument("revision", nargs="?", help="target revision (upgrade: head, downgrade: -1)")
    db.set_defaults(run=_db)

    openapi = sub.add_parser("openapi", help="write the OpenAPI snapshot")
    openapi.add_argument("--output", default=str(OPENAPI_SNAPSHOT))
    openapi.set_defaults(run=_openapi)

    token = sub.add_parser("token", help="mint a development JWT")
    token.add_argument("--role", choices=["supporter", "creator", "ops"], default="supporter")
    token.add_argument("--sub", help="user UUID (default: a new one)")
    token.add_argument("--ttl", type=int, default=3600, help="seconds until it expires")
    token.set_defaults(run=_token)

    worker = sub.add_parser("worker", help="run the background loops (notifications, payouts, SLA sweep, expiry)")
    worker.add_argument("--once", action="store_true", help="exit when every loop has run out of work")
    worker.add_argument("--only", nargs="*", default=[], help="run only these loops (by name)")
    worker.add_argument("--lease-seconds", type=float, default=60, help="how long a claim lasts if a worker dies")
    worker.set_defaults(run=_worker)
