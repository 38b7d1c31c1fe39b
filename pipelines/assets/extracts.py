"""Extracts for finance: the OLTP journal, supports, disputes, payouts and payout items, and the provider's balance
transactions (gross, fee, net)."""

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from dagster import AssetExecutionContext, AssetKey, AssetSpec, MaterializeResult, asset, multi_asset

from api.payments.gateway import PaymentGateway
from api.settings import StripeSettings
from pipelines.extracts import OLTP_EXTRACTS, extract_oltp, load_provider_transactions, report_transactions
from pipelines.resources import LOCAL_STRIPE_KEY, PatronageConfig
from stores import warehouse

# No `from __future__ import annotations` here: Dagster inspects the context parameter's real type.

OWNERS = ["team:finance", "team:data"]  # finance reads what reconciliation is built from; data keeps it running


@multi_asset(
    name="oltp_extracts",
    compute_kind="postgres",
    specs=[
        AssetSpec(
            ["raw", name],
            group_name="extracts",
            description=f"raw.{name}: a full copy of the OLTP {name}.",
            owners=OWNERS,
        )
        for name in OLTP_EXTRACTS
    ],
)
def oltp_extracts(context: AssetExecutionContext, patronage: PatronageConfig) -> Iterator[MaterializeResult]:  # type: ignore[type-arg]
    """raw.journal_lines, raw.supports, raw.disputes, raw.payouts and raw.payout_items: full copies from the OLTP
    database (one asset each, so dbt's sources each name theirs)."""
    where = patronage.run_stores()
    with warehouse.open_warehouse(where.warehouse) as store:
        counts = extract_oltp(store, where.oltp_dsn)
    context.log.info(f"extracted {counts}")
    for name, count in counts.items():
        yield MaterializeResult(asset_key=["raw", name], metadata={"rows": count})


@asset(
    group_name="extracts",
    compute_kind="stripe",
    key_prefix=["raw"],
    name="provider_balance_transactions",
    owners=OWNERS,
    deps=[AssetKey(["raw", "journal_lines"])],  # from Stripe's API: since the extracted journal's first day
)
def provider_balance_transactions(context: AssetExecutionContext, patronage: PatronageConfig) -> MaterializeResult:  # type: ignore[type-arg]
    """raw.provider_balance_transactions: itemized balance-change report CSVs in
    PATRONAGE_PROVIDER_REPORTS_DIR when there are any, else the Stripe API (STRIPE_API_BASE honoured)."""
    where = patronage.run_stores()
    transactions = report_transactions(Path(patronage.provider_reports_dir))
    source = "report_csv"
    if not transactions:
        if patronage.stripe_api_base is None and patronage.stripe_secret_key == LOCAL_STRIPE_KEY:
            context.log.warning("no provider reports and no Stripe configured: provider side left empty")
            source = "none"
        else:
            with warehouse.open_warehouse(where.warehouse, read_only=True) as store:
                has_journal = store.table_exists("raw", "journal_lines")
                row = store.row("select min(occurred_at) from raw.journal_lines") if has_journal else None
            first = row[0] if row and row[0] else datetime.now(UTC) - timedelta(days=90)
            # Whole UTC days, one before the journal's first: reconciliation compares days, and the
            # provider stamps a charge before our webhook books it.
            since = datetime.combine(first.astimezone(UTC).date() - timedelta(days=1), time.min, tzinfo=UTC)
            stripe = StripeSettings(
                secret_key=patronage.stripe_secret_key,
                publishable_key="",  # neither is used to read balance transactions
                webhook_secret="",
                api_base=patronage.stripe_api_base,
            )
            transactions = asyncio.run(
                PaymentGateway(stripe).balance_transactions(since, datetime.now(UTC) + timedelta(days=1))
            )
            source = "stripe_api"
    with warehouse.open_warehouse(where.warehouse) as store:
        count = load_provider_transactions(store, transactions, source)
    return MaterializeResult(metadata={"transactions": count, "provider_source": source})
