"""`patronage demo`: the system on embedded defaults, driven like the iOS app, then the pipeline.

Starts the local Stripe emulator and the API (embedded PostgreSQL), walks supporters through the
feed, backing, a declined card and a cancellation over the public HTTP API, lands their product
events (and a few broken ones), runs the ingestion pipeline and prints what each user of the system
would look at.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack, suppress
from datetime import UTC, datetime, timedelta

import httpx
import stripe
import uvicorn

from api.app import create_app
from api.auth import Role
from api.settings import Settings, load_settings
from devtools.app_client import AppClient
from devtools.ports import free_port
from devtools.traffic import Traffic


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


def _stop_server(server: uvicorn.Server, thread: threading.Thread) -> None:
    """However the demo ends (its walkthrough done, Ctrl-C, SIGTERM), the API stops before the process exits: a
    server thread still running while the interpreter shuts down can crash it."""
    _step("stopping the API (requests in flight finish first)")
    server.should_exit = True
    thread.join(timeout=30)


def _start_worker(settings: Settings) -> Callable[[], None]:
    """`patronage worker` in a thread with its own event loop; returns the function that stops it."""
    import asyncio

    from api.db.engine import resolve_database_url
    from api.worker import run_worker

    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    def body() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(run_worker(settings, resolve_database_url(settings.database), stop=stop))

    thread = threading.Thread(target=body, name="patronage-worker", daemon=True)
    thread.start()

    def halt() -> None:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=30)

    return halt


def _drained_queues(http: httpx.Client, ops: AppClient, timeout: float = 20) -> list[dict[str, object]]:
    """The notification queues once the worker has sent everything due (or after `timeout`)."""
    deadline = time.monotonic() + timeout
    while True:
        queues: list[dict[str, object]] = http.get("/v1/ops/queues", headers=ops.auth).json()["queues"]
        if all(q["due"] == 0 and q["in_flight"] == 0 for q in queues) or time.monotonic() > deadline:
            return queues
        time.sleep(0.2)


def _print_marts(settings: Settings) -> None:
    """What analysts and finance see in the warehouse after the run."""
    from stores import warehouse

    if not warehouse.exists(settings.paths.warehouse_at):
        return
    queries = {
        "funnel (marts.funnel_daily, last day)": "select platform, step_name, users, "
        "round(conversion_from_start, 3) as conversion_from_start "
        "from marts.funnel_daily where event_date = (select max(event_date) from marts.funnel_daily) "
        "order by platform, step_index",
        "KPIs (marts.kpi_daily, every day)": "select kpi_date, viewers, supporters, supports, "
        "round(support_conversion_rate, 3) as support_conversion_rate from marts.kpi_daily order by kpi_date",
        "reconciliation, gross and fee (marts.reconciliation_daily)": "select recon_date, currency, category, "
        "journal_minor, provider_minor, journal_fee_minor, provider_fee_minor, status from marts.reconciliation_daily "
        "order by recon_date desc, category limit 8",
        "reconciliation exceptions (marts.reconciliation_exceptions)": "select recon_date, category, "
        "exception_type, provider_object_id, amount_minor, fee_minor from marts.reconciliation_exceptions "
        "order by recon_date desc limit 6",
        "balance roll-forward (marts.reconciliation_balance_rollforward)": "select balance_date, currency, "
        "journal_opening_minor, journal_closing_minor, provider_opening_minor, provider_closing_minor, status "
        "from marts.reconciliation_balance_rollforward order by balance_date desc, currency limit 3",
        "payouts (marts.reconciliation_payouts)": "select execution_date, currency, supports, settled_minor, "
        "amount_minor, status from marts.reconciliation_payouts order by execution_date desc, currency limit 5",
        "dead letters by reason": "select reason_code, count(*) as events from marts.dead_letter_events "
        "group by 1 order by 2 desc",
        "guardrail (marts.bitrate_guardrail_state)": "select level, count(*) as projects "
        "from marts.bitrate_guardrail_state "
        "group by 1 order by 1",
        "guardrail actions (marts.bitrate_guardrail_actions)": "select decided_on, action, count(*) as actions "
        "from marts.bitrate_guardrail_actions group by 1, 2 order by 1 desc limit 5",
    }
    with warehouse.open_warehouse(settings.paths.warehouse_at, read_only=True) as store:
        for title, query in queries.items():
            print(f"  {title}:")
            try:
                names, found = store.columns_and_rows(query)
                rows = [tuple(str(value) for value in row) for row in found]
            except store.errors:  # a mart the run did not build is reported as empty, not fatal
                rows = []
            if not rows:
                print("    (none)")
                continue
            header = tuple(names)
            widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
            for row in [header, *rows]:
                print("    " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def _provider_balance(
    http: httpx.Client, ops: AppClient, payments: stripe.StripeClient, timeout: float = 60
) -> dict[str, tuple[int, int, int]]:
    """Per currency: (the journal's provider_balance, the provider's net balance, the fees the journal booked), once
    the worker has booked every fee of the provider's balance transactions (or after `timeout`)."""
    deadline = time.monotonic() + timeout
    while True:
        provider: dict[str, int] = {}
        for transaction in payments.v1.balance_transactions.list(params={"limit": 100}).auto_paging_iter():
            currency = str(transaction.currency).upper()
            provider[currency] = provider.get(currency, 0) + int(transaction.net)
        balances = http.get("/v1/journal/balances", headers=ops.auth).json()["balances"]
        journal: dict[str, dict[str, int]] = {}
        for row in balances:
            accounts = journal.setdefault(row["currency"], {})
            accounts[row["account_code"]] = accounts.get(row["account_code"], 0) + row["balance_minor"]
        found = {
            currency: (accounts.get("provider_balance", 0), provider.get(currency, 0), accounts.get("provider_fee", 0))
            for currency, accounts in journal.items()
        }
        if all(ours == theirs for ours, theirs, _ in found.values()) or time.monotonic() > deadline:
            return found
        time.sleep(1)


def _announce_staged_alert(broken: int, landed: int, settings: Settings) -> None:
    """The demo's deliberate dead letters stay under the alert rate, but the alert's other rule (a reason that
    no run of the previous 7 days had) fires on a fresh data dir: say so before the run reports it."""
    if not broken:
        return
    print(
        f"    staged: a buggy build sent {broken} broken events of {landed} ({broken / landed:.2%}, under the "
        f"{settings.dead_letter_alert_rate:.0%} dead-letter alert rate); when no run of the last 7 days saw their "
        "reasons (a fresh data dir), the pipeline's dead_letter_rate check fails on purpose and alerts ops "
        f"({settings.paths.data_dir / 'outbox' / 'ops.jsonl'})"
    )


def _playback(base: str, ops: AppClient) -> list[tuple[str, str, str]]:
    """(project_id, title, max_rendition) of every project in the feed, as the app reads them."""
    with httpx.Client(base_url=base, timeout=30) as http:
        response = http.get("/v1/feed", params={"limit": 50}, headers=ops.auth)
        response.raise_for_status()
        items = response.json()["items"]
    return [(item["project_id"], item["title"], item["playback"]["max_rendition"]) for item in items]


def run_demo(settings: Settings, *, host: str, port: int, keep_serving: bool, users: int = 24, days: int = 7) -> int:
    from devtools.local_stripe import serve_in_thread
    from pipelines.cli import run_pipeline

    with ExitStack() as stack:
        _step("starting the local Stripe emulator (localstripe) on loopback")
        stripe_state = settings.paths.data_dir / "localstripe.pickle"  # the provider's history survives re-runs
        stripe_url = stack.enter_context(serve_in_thread(free_port(), stripe_state))
        settings = dataclasses.replace(settings, stripe=dataclasses.replace(settings.stripe, api_base=stripe_url))
        _step(f"starting the API on embedded PostgreSQL under {settings.database.embedded_dir}")
        server, thread, port = _start_server(settings, host, port)
        stack.callback(_stop_server, server, thread)
        base = f"http://{host}:{port}"
        httpx.post(
            f"{stripe_url}/_config/webhooks/patronage",
            json={"url": f"{base}/v1/payments/webhooks/stripe", "secret": settings.stripe.webhook_secret},
        )
        payments = stripe.StripeClient(settings.stripe.secret_key, base_addresses={"api": stripe_url})
        _step("starting the worker (notifications, payout release, dispute SLA sweep, expiry)")
        stack.callback(_start_worker(settings))

        with httpx.Client(base_url=base, timeout=30) as http:
            _step(f"driving iOS-like traffic: {users} users over {days} days (feed, backing, cancels, a dispute, ...)")
            summary = Traffic(http, settings, payments).run(users, days)
            print(
                f"    {summary.creators} creators, {summary.supporters} supporters; supports by final status: "
                f"{dict(summary.supports)}; product events landed: {summary.events_landed}; reports: "
                f"{summary.reports} (reviews opened: {summary.reviews_triggered}); uploads: {len(summary.uploads)}"
            )
            for crowd in summary.crowds:
                print(f"    for the bitrate guardrail, a shared link: {crowd}")
            _announce_staged_alert(summary.broken_events, summary.events_landed, settings)
            ops = Traffic(http, settings, payments).user(Role.ops)
            for dispute_id in summary.disputes:
                http.post(f"/v1/disputes/{dispute_id}/acknowledge", headers=ops.auth).raise_for_status()
            balances = http.get("/v1/journal/balances", headers=ops.auth).json()
            today = datetime.now(UTC).date()
            since = today - timedelta(days=days - 1)  # the demo's payments are spread over its days
            check = http.post(
                "/v1/reconciliation/checks",
                headers=ops.posting(),
                json={"from_date": since.isoformat(), "to_date": today.isoformat()},
            ).json()
            queues = _drained_queues(http, ops)
            provider_balance = _provider_balance(http, ops, payments)  # the worker books Stripe's fees
            payouts = [
                payout
                for project_id in summary.projects
                for payout in http.get(f"/v1/projects/{project_id}/payouts", headers=ops.auth).json()["items"]
            ]

        _step("running the data pipeline (patronage pipeline run)")
        os.environ["STRIPE_API_BASE"] = stripe_url  # the pipeline reads the provider's balance from the emulator too
        load_settings.cache_clear()
        pipeline_ok = run_pipeline(argparse.Namespace(), settings) == 0

        print()
        print(
            "  journal totals per currency (always 0):", {t["currency"]: t["total_minor"] for t in balances["totals"]}
        )
        for row in balances["balances"]:
            print(f"    {row['account_code']:<22} {row['currency']} {row['balance_minor']:>8}")
        print(
            f"  reconciliation {since} to {today} (API check):",
            ", ".join(f"{r['category']}={r['status']}" for r in check["results"]) or "no movements",
        )
        for currency, (ours, theirs, fees) in sorted(provider_balance.items()):
            verdict = "matched" if ours == theirs else "MISMATCH"
            print(
                f"  provider balance {currency}: journal {ours} = Stripe's net {theirs}: {verdict} "
                f"(Stripe's fees booked as provider_fee: {fees})"
            )
        print(
            "  notifications delivered per channel:",
            ", ".join(f"{q['channel']}={q['delivered']} (dead {q['dead']})" for q in queues),
            f"\n    dev sinks: {settings.paths.data_dir / 'outbox'}/*.jsonl; in-app: GET /v1/me/notifications",
        )
        print(
            "  playback in the feed (the guardrail's current caps, written back by the pipeline):",
            ", ".join(f"{title} {project[:8]}: {rendition}" for project, title, rendition in _playback(base, ops)),
        )
        print(
            "  payouts scheduled (the worker releases them on their execution date):",
            ", ".join(f"{p['amount_minor']} {p['currency']} on {p['execution_date']} ({p['status']})" for p in payouts)
            or "none",
        )
        _print_marts(settings)
        print(f"  API:        {base}   OpenAPI: {base}/schema/openapi.json   docs: {base}/schema/swagger")
        from stores import warehouse

        where = settings.paths.warehouse_at
        how = "" if warehouse.is_postgres(where) else " (open read-only with DuckDB)"
        print(f"  warehouse:  {where if how else warehouse.name(where)}{how}")
        site = settings.paths.data_dir / "dashboards" / "index.html"
        if site.exists():
            print(f"  dashboards: file://{site}   (static, offline; rebuilt by every pipeline run)")
        print(f"  dead letters: uv run patronage dead-letter list   (files under {settings.paths.dead_letter_dir})")
        print(
            "  Dagster UI: uv run patronage ui   (the UI, schedules and sensor on this data dir; http://127.0.0.1:3000)"
        )
        docs = settings.paths.data_dir / "dashboards" / "dbt-docs.html"
        if docs.exists():
            print(f"  data dictionary: file://{docs}   (dbt docs: every mart and column, lineage)")
        print("  tokens:     uv run patronage token --role creator|supporter|ops")
        if keep_serving:
            print("\nServing until Ctrl-C.", flush=True)
            with suppress(KeyboardInterrupt):
                thread.join()
    return 0 if pipeline_ok else 1
