"""`patronage demo`: serve the API on embedded defaults and walk through it as the iOS app would.

The full demo (payments, pipeline, dashboards) grows here issue by issue; today it serves the API,
creates a project through the public HTTP API, reads it back through the feed and says where to look.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid

import httpx
import uvicorn

from api.app import create_app
from api.auth import Role, issue_token
from api.settings import Settings


def _step(message: str) -> None:
    print(f"==> {message}", flush=True)


def _start_server(settings: Settings, host: str, port: int) -> tuple[uvicorn.Server, threading.Thread, int]:
    """Serve in a thread; port 0 picks a free one, and the bound port is returned."""
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host=host, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="patronage-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise SystemExit("the API did not start; see the log above")
        time.sleep(0.1)
    bound = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, int(bound)


def run_demo(settings: Settings, *, host: str, port: int, keep_serving: bool) -> int:
    _step(f"starting the API on embedded PostgreSQL under {settings.database.embedded_dir}")
    server, thread, port = _start_server(settings, host, port)
    base = f"http://{host}:{port}"
    creator = issue_token(settings.auth, uuid.uuid4(), Role.creator)
    supporter = issue_token(settings.auth, uuid.uuid4(), Role.supporter)
    with httpx.Client(base_url=base, timeout=30) as client:
        _step("creating a project as a creator (POST /v1/projects)")
        created = client.post(
            "/v1/projects",
            headers={"Authorization": f"Bearer {creator}", "Idempotency-Key": str(uuid.uuid4())},
            json={
                "title": "Hand-bound travel journal",
                "description": "A limited run of journals stitched by hand.",
                "currency": "USD",
                "goal_minor": 500_000,
                "reward_tiers": [{"title": "One journal", "amount_minor": 4_500, "reward_type": "physical"}],
            },
        )
        created.raise_for_status()
        project = created.json()
        _step("reading the feed as a supporter (GET /v1/feed)")
        feed = client.get("/v1/feed", params={"limit": 5}, headers={"Authorization": f"Bearer {supporter}"})
        feed.raise_for_status()
        items = feed.json()["items"]
    print()
    print(f"  project {project['project_id']}: {project['title']} ({project['reward_tiers'][0]['amount_minor']} minor)")
    print(f"  feed shows {len(items)} live project(s); playback cap of the newest: {items[0]['playback']}")
    print(f"  API:      {base}   OpenAPI: {base}/schema/openapi.json   docs: {base}/schema/swagger")
    print(f"  a supporter token for curl: {supporter}")
    print("  mint more with: uv run patronage token --role creator|supporter|ops")
    if keep_serving:
        print("\nServing until Ctrl-C.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            thread.join()
    server.should_exit = True
    thread.join(timeout=30)
    return 0
