"""Extracts for finance: the OLTP journal, supports and disputes, and the provider's balance transactions."""

import asyncio
from datetime import UTC, datetime, time, timedelta

from dagster import AssetExecutionContext, MaterializeResult, asset

from api.payments.gateway import PaymentGateway
from pipelines import warehouse
from pipelines.extracts import extract_oltp, load_provider_transactions, report_transactions
from pipelines.resources import PatronageConfig

# No `from __future__ import annotations` here: Dagster inspects the context parameter's real type.

LOCAL_PLACEHOLDER_KEY = "sk_test_patronage_local"


@asset(group_name="extracts", compute_kind="postgres", key_prefix=["raw"], name="oltp_extracts")
def oltp_extracts(context: AssetExecutionContext, patronage: PatronageConfig) -> MaterializeResult:  # type: ignore[type-arg]
    """raw.journal_lines, raw.supports and raw.disputes: full copies from the OLTP database."""
    where = patronage.locations()
    with warehouse.open_warehouse(where.warehouse) as store:
        counts = extract_oltp(store, where.oltp_dsn)
    context.log.info(f"extracted {counts}")
    return MaterializeResult(metadata=dict(counts))


@asset(group_name="extracts", compute_kind="stripe", key_prefix=["raw"], name="provider_balance_transactions")
def provider_balance_transactions(context: AssetExecutionContext, patronage: PatronageConfig) -> MaterializeResult:  # type: ignore[type-arg]
    """raw.provider_balance_transactions: itemized balance-change report CSVs in
    PATRONAGE_PROVIDER_REPORTS_DIR when there are any, else the Stripe API (STRIPE_API_BASE honoured)."""
    settings = patronage.settings
    where = patronage.locations()
    transactions = report_transactions(settings.paths.provider_reports_dir)
    source = "report_csv"
    if not transactions:
        if settings.stripe.api_base is None and settings.stripe.secret_key == LOCAL_PLACEHOLDER_KEY:
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
            transactions = asyncio.run(
                PaymentGateway(settings.stripe).balance_transactions(since, datetime.now(UTC) + timedelta(days=1))
            )
            source = "stripe_api"
    with warehouse.open_warehouse(where.warehouse) as store:
        count = load_provider_transactions(store, transactions, source)
    return MaterializeResult(metadata={"transactions": count, "provider_source": source})
