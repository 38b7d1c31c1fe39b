"""Milestone 1, definition of done, as one test: the demo's iOS-like traffic through the public API
(paying on the Stripe emulator, whose own webhooks finalize), the worker, then the whole pipeline.

- core support end to end, with success decided only by the webhook;
- the journal sums to zero (per entry and in total);
- payout and dispute SLA fields are queryable in SQL;
- funnel events are complete and dashboard-ready: every step is present for the traffic.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import duckdb
import httpx
import pytest
import stripe

from api.auth import Role
from api.db.engine import Database
from api.payments.gateway import PaymentGateway
from api.payouts.jobs import release_due
from api.settings import Settings, load_settings
from api.worker import run_worker
from devtools.traffic import Traffic, TrafficSummary
from pipelines.cli import run_pipeline
from tests.api.payouts.flows import later
from tests.conftest import JWT_SECRET, UNBALANCED_ENTRIES, WEBHOOK_SECRET

pytestmark = pytest.mark.slow

FUNNEL = ["feed_impression", "project_view", "support_cta_tap", "checkout_started", "payment_succeeded"]


@pytest.fixture
def pipeline_env(
    tmp_path: Path, database_url: str, local_stripe: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    for name, value in {
        "PATRONAGE_DATA_DIR": str(tmp_path),
        "DATABASE_URL": database_url,
        "PATRONAGE_JWT_SECRET": JWT_SECRET,
        "STRIPE_API_BASE": local_stripe,
        "STRIPE_SECRET_KEY": "sk_test_patronage",
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }.items():
        monkeypatch.setenv(name, value)
    load_settings.cache_clear()
    yield tmp_path
    load_settings.cache_clear()


async def test_milestone_one(
    client: object,
    db: Database,
    settings: Settings,
    database_url: str,
    stripe_webhooks_to_live_server: str,
    stripe_client: stripe.StripeClient,
    sql: asyncpg.Connection,
    pipeline_env: Path,
) -> None:
    def drive() -> tuple[TrafficSummary, list[dict[str, object]]]:
        """The app's traffic (a blocking client, as the demo runs it), then what ops see of the payouts."""
        with httpx.Client(base_url=stripe_webhooks_to_live_server, timeout=30) as http:
            traffic = Traffic(http, settings, stripe_client)
            summary = traffic.run(16, 3)
            ops = traffic.user(Role.ops)
            listed = [http.get(f"/v1/projects/{p}/payouts", headers=ops.auth).json() for p in summary.projects]
        return summary, [payout for page in listed for payout in page["items"]]

    async with httpx.AsyncClient() as http:  # the provider's balance is this test's alone, as in production
        (await http.delete(f"{settings.stripe.api_base}/_config/data")).raise_for_status()
    summary, payouts = await asyncio.to_thread(drive)
    # The payouts' execution date comes: the worker's step releases them through Stripe.
    assert await release_due(db, PaymentGateway(settings.stripe), later(), country="US") >= 1
    await run_worker(settings, database_url, once=True)
    assert summary.supports["succeeded"] >= 3
    assert {"failed", "refunded", "disputed"} <= set(summary.supports)

    # Success only ever comes from Stripe's webhook.
    sources = await sql.fetch(
        "select h.source, count(*) from support_status_history h "
        "where h.to_status = 'succeeded' and h.applied group by h.source"
    )
    assert {r["source"] for r in sources} == {"webhook"}
    unpaid = await sql.fetchval(
        "select count(*) from supports s where s.status = 'succeeded' and not exists "
        "(select 1 from provider_events e where e.event_type = 'payment_intent.succeeded' "
        "and e.payload -> 'data' -> 'object' ->> 'id' = s.payment_intent_id)"
    )
    assert unpaid == 0

    # The journal sums to zero per entry and currency, and in total.
    assert await sql.fetch(UNBALANCED_ENTRIES) == []
    assert {
        r["total"] for r in await sql.fetch("select sum(amount_minor) as total from journal_lines group by currency")
    } == {0}

    # Payout and dispute SLA fields, in SQL.
    assert payouts
    rows = await sql.fetch("select execution_date, settlement_target_date, reserve_policy from project_payouts")
    released = await sql.fetchval("select count(*) from project_payouts where status = 'released'")
    assert rows
    assert all(r["settlement_target_date"] > r["execution_date"] > datetime.now(UTC).date() for r in rows)
    assert released >= 1
    dispute = await sql.fetchrow("select ack_due_at, triage_due_at, resolution_due_at, escalated, status from disputes")
    assert dispute["ack_due_at"] < dispute["triage_due_at"] < dispute["resolution_due_at"]
    assert dispute["status"] == "open"

    # Notifications due by now went out (the worker drained the queue).
    undelivered = await sql.fetch(
        "select e.event_type, d.channel, d.status, d.attempts, d.last_error, d.next_attempt_at "
        "from notification_deliveries d join notification_events e using (notification_event_id) "
        "where d.status <> 'delivered' and d.next_attempt_at <= now()"  # payout news is dated at release (later)
    )
    assert undelivered == []

    # The pipeline: every funnel step is present for today's traffic.
    assert await asyncio.to_thread(run_pipeline, argparse.Namespace(), load_settings()) == 0
    with duckdb.connect(str(pipeline_env / "warehouse.duckdb"), read_only=True) as warehouse:
        steps = warehouse.execute(
            "select step_name, users from marts.funnel_daily where event_date = current_date and platform = 'ios' "
            "order by step_index"
        ).fetchall()
        kpi_days = warehouse.execute("select count(*) from marts.kpi_daily").fetchone()
        payout_recon = warehouse.execute(
            "select sum(journal_minor), sum(provider_minor) from marts.reconciliation_daily where category = 'payout'"
        ).fetchall()
        recon = warehouse.execute(
            "select category, status from marts.reconciliation_daily where category <> 'payout'"
        ).fetchall()
        closing = warehouse.execute(
            "select status from marts.reconciliation_balance_rollforward order by balance_date desc limit 1"
        ).fetchone()
        released = warehouse.execute(
            "select status, amount_minor, journal_payout_minor, provider_payout_minor, supports "
            "from marts.reconciliation_payouts where payout_status <> 'scheduled'"
        ).fetchall()
    # Money left the provider balance, as much on both sides (the provider on the day it was sent).
    [(journal_payouts, provider_payouts)] = payout_recon
    assert journal_payouts < 0
    assert journal_payouts == provider_payouts
    # The provider recorded the dispute and every fee, and the worker booked the fees: gross and fee match per
    # category (payouts apart: the worker released them ten days ahead of the provider's clock), and by the
    # release day the balances roll forward to the same closing; each released payout is the provider's.
    assert {category for category, _ in recon} >= {"charge", "refund", "dispute"}
    assert {status for _, status in recon} == {"matched"}
    assert closing == ("matched",)
    assert released
    assert all(row[0] == "matched" and row[1] == row[2] == row[3] and row[4] >= 1 for row in released), released
    assert [name for name, _ in steps] == FUNNEL
    assert all(users > 0 for _, users in steps)
    assert kpi_days is not None
    assert kpi_days[0] >= 3  # every day of the three, none skipped
