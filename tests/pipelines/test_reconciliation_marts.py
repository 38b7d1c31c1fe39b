"""marts.reconciliation_daily / reconciliation_exceptions from real extracts: the OLTP journal and
localstripe's balance transactions; and finance's CSV export."""

from __future__ import annotations

import asyncio
import csv
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import stripe
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.db.engine import Database
from api.journal.jobs import sync_provider_fees
from api.payments.gateway import PaymentGateway
from api.settings import Settings
from pipelines.extracts import extract_oltp, load_provider_transactions
from pipelines.reconcile import REPORTS
from stores import warehouse
from tests import stripe_events as se
from tests.analytics.corpus import SPARK, corpus_on
from tests.api.supports.flows import back_project, confirm, deliver, succeeded_support
from tests.conftest import JWT_SECRET, MakeUser
from tests.pipelines.conftest import LocalRunStores, query
from tests.pipelines.dbt_runner import dbt_build, warehouse_environment


@pytest.mark.slow
async def test_reconciliation_marts_match_and_explain(
    client: AsyncTestClient[Litestar],
    make_user: MakeUser,
    local_stripe: str,
    stripe_client: stripe.StripeClient,
    stripe_webhooks_to_live_server: str,
    settings: Settings,
    db: Database,
    where: LocalRunStores,
    tmp_path: Path,
) -> None:
    async with httpx.AsyncClient() as http:
        (await http.delete(f"{local_stripe}/_config/data")).raise_for_status()
    _, _, _, charge = await succeeded_support(client, make_user, paid_on=stripe_client)  # in both
    _, stray, stray_support = await back_project(client, make_user, amount_minor=3_000)  # journal only
    stray_pi = (await confirm(client, stray, stray_support["support_id"]))["checkout"]["payment_intent_id"]
    await deliver(
        client,
        se.event(
            "payment_intent.succeeded",
            se.payment_intent(stray_pi, 3_000, "EUR", stray_support["support_id"], charge="ch_only_in_journal"),
        ),
    )
    unknown = stripe_client.v1.payment_intents.create(  # provider only
        params={"amount": 900, "currency": "eur", "payment_method": "pm_card_visa"}
    )
    stripe_client.v1.payment_intents.confirm(unknown.id)

    now = datetime.now(UTC)
    assert await sync_provider_fees(db, PaymentGateway(settings.stripe), now) == 1  # the worker books the paid fee
    transactions = await PaymentGateway(settings.stripe).balance_transactions(
        now - timedelta(days=1), now + timedelta(days=1)
    )
    with warehouse.open_warehouse(where.warehouse) as store:
        extract_oltp(store, where.oltp_dsn)
        load_provider_transactions(store, transactions, "stripe_api")
    await asyncio.to_thread(dbt_build, where.warehouse, tmp_path, *(f"+{mart}" for mart in REPORTS))

    daily = query(
        where,
        "select category, journal_minor, provider_minor, difference_minor, status from marts.reconciliation_daily",
    )
    exceptions = query(
        where,
        "select exception_type, provider_object_id, amount_minor from marts.reconciliation_exceptions "
        "order by exception_type",
    )
    assert daily == [("charge", 2_500 + 3_000, 2_500 + 900, 3_000 - 900, "mismatch")]
    provider_only = [t for t in transactions if t.amount_minor == 900]
    assert exceptions == [
        ("missing_in_journal", provider_only[0].source, 900),
        ("missing_in_provider", "ch_only_in_journal", 3_000),
    ]
    assert charge != "ch_only_in_journal"

    today = now.date().isoformat()
    env = {
        **os.environ,
        "PATRONAGE_DATA_DIR": str(tmp_path),
        **warehouse_environment(where.warehouse),
        "PATRONAGE_JWT_SECRET": JWT_SECRET,
    }
    out = tmp_path / "finance"
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "patronage.cli", "reconcile", "--from", today, "--to", today, "--csv", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    with (out / "reconciliation_daily.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["category"], r["status"], r["difference_minor"]) for r in rows] == [("charge", "mismatch", "2100")]
    with (out / "reconciliation_exceptions.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == 2
    await asyncio.sleep(1.5)  # the emulator's webhook for the provider-only charge lands before tables empty


@pytest.mark.parametrize("other", ["postgres", SPARK])
def test_finance_s_csv_is_the_same_from_every_engine(
    request: pytest.FixtureRequest, other: str, tmp_path: Path
) -> None:
    """`patronage reconcile --csv` on the marts corpus (tests/analytics/corpus.py: a match, mismatches, both kinds of
    exception, payouts): the same five files, byte for byte, from DuckDB, PostgreSQL and a Spark lake."""
    exported: dict[str, dict[str, bytes]] = {}
    period = ["--from", "2026-11-01", "--to", "2026-11-30"]
    for engine in ("duckdb", other):
        where = corpus_on(request, engine)
        out = tmp_path / engine
        result = subprocess.run(
            [sys.executable, "-m", "patronage.cli", "reconcile", *period, "--csv", str(out)],
            env={
                **os.environ,
                "PATRONAGE_DATA_DIR": str(tmp_path / f"data-{engine}"),
                **warehouse_environment(where),
                "PATRONAGE_JWT_SECRET": JWT_SECRET,
            },
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        exported[engine] = {path.name: path.read_bytes() for path in sorted(out.iterdir())}
    assert sorted(exported["duckdb"]) == sorted(f"{name}.csv" for name in REPORTS)
    for name, body in exported["duckdb"].items():
        assert len(body.splitlines()) > 1, f"{name} has no rows: the corpus does not exercise it"
    assert exported[other] == exported["duckdb"]
