"""Finance extracts: provider balance transactions from Stripe's itemized balance-change report CSVs, and the
extract assets replacing the OLTP and provider tables of either warehouse."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance, materialize
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.db.engine import Database
from api.journal import services as journal
from api.journal.chart import Cause
from pipelines.assets.extracts import oltp_extracts, provider_balance_transactions
from pipelines.extracts import load_oltp_rows, minor_units, report_transactions
from pipelines.resources import LOCAL_STRIPE_KEY, PatronageConfig
from stores.warehouse import open_warehouse
from tests.api.supports.flows import back_project
from tests.conftest import MakeUser
from tests.pipelines.conftest import LocalRunStores, query

HEADER = "balance_transaction_id,created_utc,available_on_utc,currency,gross,fee,net,reporting_category,source_id"
REPORT = (
    HEADER
    + """,description
txn_1,2026-11-02 10:15:00,2026-11-04 00:00:00,eur,25.00,0.63,24.37,charge,ch_1,Support
txn_2,2026-11-02 11:00:00,2026-11-04 00:00:00,eur,-7.00,0.00,-7.00,refund,re_1,REFUND FOR CHARGE
txn_3,2026-11-03 09:00:00,2026-11-05 00:00:00,jpy,1200,0,1200,charge,ch_2,Support
"""
)


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [("25.00", "EUR", 2500), ("-7.00", "eur", -700), ("0.1", "USD", 10), ("1200", "JPY", 1200), ("19.99", "GBP", 1999)],
)
def test_report_amounts_become_exact_minor_units(amount: str, currency: str, expected: int) -> None:
    assert minor_units(amount, currency) == expected


def test_report_rows_are_read_from_every_csv(tmp_path: Path) -> None:
    (tmp_path / "2026-11.csv").write_text(REPORT)
    transactions = report_transactions(tmp_path)
    assert [(t.transaction_id, t.amount_minor, t.currency, t.reporting_category, t.source) for t in transactions] == [
        ("txn_1", 2500, "EUR", "charge", "ch_1"),
        ("txn_2", -700, "EUR", "refund", "re_1"),
        ("txn_3", 1200, "JPY", "charge", "ch_2"),
    ]
    assert [(t.fee_minor, t.net_minor) for t in transactions] == [(63, 2_437), (0, -700), (0, 1_200)]
    assert transactions[0].created == datetime(2026, 11, 2, 10, 15, tzinfo=UTC)
    assert report_transactions(tmp_path / "missing") == []


def test_a_report_whose_net_is_not_gross_less_fee_is_refused(tmp_path: Path) -> None:
    (tmp_path / "2026-11.csv").write_text(
        HEADER + "\ntxn_1,2026-11-02 10:15:00,2026-11-04 00:00:00,eur,25.00,0.63,24.00,charge,ch_1\n"
    )
    with pytest.raises(ValueError, match=r"2026-11\.csv, line 2: net is not gross - fee"):
        report_transactions(tmp_path)


def patronage_for(
    where: LocalRunStores, database_url: str, reports: Path, stripe_api_base: str | None = None
) -> PatronageConfig:
    """The pipeline's resource over the test's warehouse (either engine), the test OLTP database and, given its
    address, the Stripe emulator."""
    return PatronageConfig(
        warehouse=str(where.warehouse),
        landing_dir=str(where.landing_dir),
        dead_letter_dir=str(where.dead_letter_dir),
        oltp_database=database_url,
        dashboards_dir=str(reports.parent / "dashboards"),
        provider_reports_dir=str(reports),
        stripe_api_base=stripe_api_base,
        stripe_secret_key="sk_test_patronage" if stripe_api_base else LOCAL_STRIPE_KEY,
    )


async def test_the_extract_assets_replace_the_finance_tables_of_either_warehouse(
    client: AsyncTestClient[Litestar],
    make_user: MakeUser,
    db: Database,
    database_url: str,
    where: LocalRunStores,
    tmp_path: Path,
) -> None:
    _, supporter, support = await back_project(client, make_user, amount_minor=3_000)
    held_at = datetime(2026, 11, 2, 10, 15, 30, 123456, tzinfo=UTC)
    cause = Cause(
        key="extract-test",
        occurred_at=held_at,
        project_id=uuid.UUID(support["project_id"]),
        support_id=uuid.UUID(support["support_id"]),
        provider_object_id="ch_1",
    )
    async with db.transaction() as session:
        await journal.post(session, "support_hold", cause, 3_000, "EUR")
    with open_warehouse(where.warehouse) as store:  # rows of an earlier extract, gone since
        store.run("insert into raw.supports (support_id, status) values ('stale', 'succeeded')")
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "2026-11.csv").write_text(REPORT)
    patronage = patronage_for(where, database_url, tmp_path / "reports")

    for _ in range(2):  # a second run replaces, never appends
        result = await asyncio.to_thread(
            materialize,
            [oltp_extracts, provider_balance_transactions],
            resources={"patronage": patronage},
            instance=DagsterInstance.ephemeral(),
        )
        assert result.success

    lines = query(
        where,
        "select entry_id, entry_type, occurred_at, account_code, project_id, currency, amount_minor, support_id, "
        "provider_object_id from raw.journal_lines order by amount_minor",
    )
    entry = lines[0][0]
    assert str(uuid.UUID(entry)) == entry  # the OLTP uuid as text, on either engine
    of_the_support = (support["support_id"], "ch_1")
    assert lines == [
        (entry, "support_hold", held_at, "creator_payable", support["project_id"], "EUR", -3_000, *of_the_support),
        (entry, "support_hold", held_at, "provider_balance", None, "EUR", 3_000, *of_the_support),
    ]
    assert query(where, "select support_id, supporter_id, amount_minor, currency, succeeded_at from raw.supports") == [
        (support["support_id"], str(supporter.user_id), 3_000, "EUR", None)
    ]
    assert query(where, "select count(*) from raw.disputes") == [(0,)]
    assert (
        query(where, "select count(*) from raw.payouts")
        == query(where, "select count(*) from raw.payout_items")
        == [(0,)]
    )
    assert query(
        where,
        "select transaction_id, amount_minor, fee_minor, net_minor, currency, source, created, provider_source "
        "from raw.provider_balance_transactions order by transaction_id",
    ) == [
        ("txn_1", 2_500, 63, 2_437, "EUR", "ch_1", datetime(2026, 11, 2, 10, 15, tzinfo=UTC), "report_csv"),
        ("txn_2", -700, 0, -700, "EUR", "re_1", datetime(2026, 11, 2, 11, tzinfo=UTC), "report_csv"),
        ("txn_3", 1_200, 0, 1_200, "JPY", "ch_2", datetime(2026, 11, 3, 9, tzinfo=UTC), "report_csv"),
    ]


def test_without_reports_the_provider_side_comes_from_stripe_since_the_journal_of_either_warehouse(
    local_stripe: str, database_url: str, where: LocalRunStores, tmp_path: Path
) -> None:
    with open_warehouse(where.warehouse) as store:  # the asset reads the journal's first day back
        load_oltp_rows(
            store,
            "journal_lines",
            [(1, "e1", "support_hold", "2026-11-02T10:00:00+00:00", "provider_balance", None, "EUR", 1, *[None] * 6)],
        )
    patronage = patronage_for(where, database_url, tmp_path / "no-reports", stripe_api_base=local_stripe)
    result = materialize(
        [provider_balance_transactions], resources={"patronage": patronage}, instance=DagsterInstance.ephemeral()
    )
    assert result.success
    (event,) = result.get_asset_materialization_events()
    metadata = {key: value.value for key, value in event.materialization.metadata.items()}
    assert metadata["provider_source"] == "stripe_api"
    assert query(where, "select count(*) from raw.provider_balance_transactions") == [(metadata["transactions"],)]


def test_the_provider_side_is_extracted_after_the_journal_it_dates_from() -> None:
    """From Stripe's API the provider side starts a day before the extracted journal's first entry: in a job that
    runs both, Dagster must run the journal's extract first."""
    journal = AssetKey(["raw", "journal_lines"])
    assert journal in oltp_extracts.keys
    assert journal in provider_balance_transactions.dependency_keys
