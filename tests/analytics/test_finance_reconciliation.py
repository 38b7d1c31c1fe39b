"""Finance's reconciliation from real parts, on each warehouse: supports paid, refunded and disputed on the local
Stripe emulator, the worker's fees, a payout released through Stripe, the extracts, dbt, and `patronage reconcile`.

The payout is released at a time ahead of the provider's clock (the worker's step is run for a day 10 days on),
so the journal books it on that day while the provider recorded it today: the staged difference the balance
roll-forward must show on every day in between, and close on the release day.
"""

from __future__ import annotations

import asyncio
import csv
import os
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.db.engine import Database
from api.journal.jobs import sync_provider_fees
from api.payments.gateway import BalanceTransaction, PaymentGateway
from api.payouts.jobs import release_due
from api.settings import Settings
from dashboards.money import major_units
from devtools.local_stripe_accounting import DISPUTE_FEE_MINOR, processing_fee
from pipelines.extracts import extract_oltp, load_provider_transactions
from pipelines.reconcile import REPORTS
from stores import warehouse
from tests import stripe_events as se
from tests.api.payouts.flows import later
from tests.api.supports.flows import deliver, poll_until, succeeded_support
from tests.conftest import JWT_SECRET, MakeUser, User
from tests.pipelines.conftest import LocalRunStores, query
from tests.pipelines.dbt_runner import dbt_build, warehouse_environment

pytestmark = pytest.mark.slow
CATEGORIES = ("charge", "refund", "dispute", "dispute_reversal", "payout")


async def wait_for(client: AsyncTestClient[Litestar], supporter: User, support_id: str, status: str) -> None:
    async def read() -> dict[str, Any]:
        body: dict[str, Any] = (await client.get(f"/v1/supports/{support_id}", headers=supporter.headers)).json()
        return body

    await poll_until(read, status)


def rollforward_expected(journal: list[tuple[Any, ...]], provider: list[BalanceTransaction]) -> dict[Any, Any]:
    """The roll-forward computed here, from the journal's provider_balance lines and the provider's transactions:
    {(day, currency): (journal opening, journal closing, provider opening, provider closing)}."""
    moved: dict[tuple[date, str], list[int]] = defaultdict(lambda: [0, 0])
    for day, currency, amount in journal:
        moved[(day, currency)][0] += amount
    for t in provider:
        moved[(t.created.date(), t.currency)][1] += t.net_minor
    first = {currency: min(d for d, c in moved if c == currency) for _, currency in moved}
    last = max(day for day, _ in moved)
    expected = {}
    for currency, day in first.items():
        balances = [0, 0]
        while day <= last:
            opening = list(balances)
            balances = [balances[i] + moved.get((day, currency), [0, 0])[i] for i in (0, 1)]
            expected[(day, currency)] = (opening[0], balances[0], opening[1], balances[1])
            day += timedelta(days=1)
    return expected


async def test_fees_rollforward_and_payouts_reconcile_from_real_parts(
    client: AsyncTestClient[Litestar],
    make_user: MakeUser,
    db: Database,
    settings: Settings,
    local_stripe: str,
    stripe_client: stripe.StripeClient,
    stripe_webhooks_to_live_server: str,
    where: LocalRunStores,
    tmp_path: Path,
) -> None:
    async with httpx.AsyncClient(base_url=local_stripe) as provider:
        (await provider.delete("/_config/data")).raise_for_status()  # the provider's balance is this test's
        _, paid_support, _, paid_charge = await succeeded_support(client, make_user, 2_500, paid_on=stripe_client)
        disputed, disputed_support, _, disputed_charge = await succeeded_support(
            client, make_user, 3_000, paid_on=stripe_client
        )
        canceled, canceled_support, canceled_pi, canceled_charge = await succeeded_support(
            client, make_user, 2_500, paid_on=stripe_client
        )
        cancel = await client.post(f"/v1/supports/{canceled_support['support_id']}/cancel", headers=canceled.posting())
        assert cancel.status_code == 200, cancel.text
        refund = stripe_client.v1.refunds.list(params={"payment_intent": canceled_pi}).data[0]
        refunded = se.charge(canceled_charge, canceled_pi, 2_500, "EUR", refunded=2_500, refund_id=refund.id)
        await deliver(client, se.event("charge.refunded", refunded))
        opened = await provider.post(f"/_config/charges/{disputed_charge}/dispute", data={"reason": "fraudulent"})
        opened.raise_for_status()
        await wait_for(client, disputed, disputed_support["support_id"], "disputed")
    now = datetime.now(UTC)
    gateway = PaymentGateway(settings.stripe)
    assert await sync_provider_fees(db, gateway, now) == 3  # the three charges' fees (the dispute's came with it)
    released_at = later()
    assert await release_due(db, gateway, released_at, country="US") == 1  # only the paid support is still owed

    transactions = await gateway.balance_transactions(now - timedelta(days=1), now + timedelta(days=1))
    assert sorted(t.reporting_category for t in transactions) == [
        "charge",
        "charge",
        "charge",
        "dispute",
        "payout",
        "refund",
    ]
    with warehouse.open_warehouse(where.warehouse) as store:
        extract_oltp(store, where.oltp_dsn)
        load_provider_transactions(store, transactions, "stripe_api")
    await asyncio.to_thread(dbt_build, where.warehouse, tmp_path, *(f"+{mart}" for mart in REPORTS))

    today, release_day = now.date(), released_at.date()
    # Gross, fee and net agree for every category of today, but the payout the journal books on its release day.
    daily = query(
        where,
        "select recon_date, category, journal_minor, journal_fee_minor, provider_fee_minor, net_difference_minor, "
        "status from marts.reconciliation_daily order by recon_date, category",
    )
    charged = 2_500 + 3_000 + 2_500
    charge_fees = processing_fee(2_500) * 2 + processing_fee(3_000)
    assert daily == [
        (today, "charge", charged, charge_fees, charge_fees, 0, "matched"),
        (today, "dispute", -3_000, DISPUTE_FEE_MINOR, DISPUTE_FEE_MINOR, 0, "matched"),
        (today, "payout", 0, 0, 0, 2_500, "missing_in_journal"),
        (today, "refund", -2_500, 0, 0, 0, "matched"),
        (release_day, "payout", -2_500, 0, 0, -2_500, "missing_in_provider"),
    ]

    # The roll-forward: the identity on every day, the staged difference until the release day, and closings that
    # are the journal's provider_balance and the provider's net balance.
    rows = query(
        where,
        "select balance_date, currency, journal_opening_minor, journal_charge_minor, journal_refund_minor, "
        "journal_dispute_minor, journal_dispute_reversal_minor, journal_fee_minor, journal_payout_minor, "
        "journal_closing_minor, provider_opening_minor, provider_charge_minor, provider_refund_minor, "
        "provider_dispute_minor, provider_dispute_reversal_minor, provider_fee_minor, provider_other_minor, "
        "provider_payout_minor, provider_closing_minor, closing_difference_minor, status "
        "from marts.reconciliation_balance_rollforward order by balance_date",
    )
    journal_lines = query(
        where,
        "select recon_date, currency, amount_minor from staging.stg_journal_lines where account_code = ?",
        ["provider_balance"],
    )
    expected = rollforward_expected(journal_lines, transactions)
    assert [(r[0], r[1]) for r in rows] == sorted(expected)
    assert [r[0] for r in rows] == [today + timedelta(days=n) for n in range((release_day - today).days + 1)]
    for row in rows:
        assert sum(row[2:9]) == row[9]  # opening + movements = closing, on each side
        assert sum(row[10:18]) == row[18]
        assert (row[2], row[9], row[10], row[18]) == expected[(row[0], row[1])]
        assert row[19] == (2_500 if row[0] < release_day else 0)
        assert row[20] == ("mismatch" if row[0] < release_day else "matched")
    net = charged - 2_500 - 3_000 - charge_fees - DISPUTE_FEE_MINOR - 2_500
    assert rows[-1][9] == rows[-1][18] == sum(t.net_minor for t in transactions) == net
    balances = (await client.get("/v1/journal/balances", headers=make_user("ops").headers)).json()["balances"]
    assert sum(b["balance_minor"] for b in balances if b["account_code"] == "provider_balance") == net

    # The payout settles the paid support only; its sum is what both sides took out of the balance.
    payouts = query(
        where,
        "select supports, charged_minor, settled_minor, withheld_minor, amount_minor, provider_fee_minor, "
        "journal_payout_minor, provider_payout_minor, status from marts.reconciliation_payouts",
    )
    assert payouts == [(1, 2_500, 2_500, 0, 2_500, processing_fee(2_500), 2_500, 2_500, "matched")]
    items = query(
        where,
        "select support_id, charge_id, charged_minor, refunded_minor, disputed_minor, settled_minor, "
        "provider_gross_minor, provider_fee_minor, provider_net_minor from marts.reconciliation_payout_items",
    )
    fee = processing_fee(2_500)
    assert items == [(paid_support["support_id"], paid_charge, 2_500, 0, 0, 2_500, 2_500, fee, 2_500 - fee)]

    # Finance's export: every amount in minor units with its major-unit text beside it and the row's currency.
    env = {
        **os.environ,
        "PATRONAGE_DATA_DIR": str(tmp_path),
        **warehouse_environment(where.warehouse),
        "PATRONAGE_JWT_SECRET": JWT_SECRET,
    }
    period = ["--from", today.isoformat(), "--to", release_day.isoformat()]
    out = tmp_path / "finance"
    exported = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "patronage.cli", "reconcile", *period, "--csv", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert exported.returncode == 0, exported.stdout + exported.stderr
    assert sorted(path.name for path in out.iterdir()) == sorted(f"{name}.csv" for name in REPORTS)
    for name in REPORTS:
        with (out / f"{name}.csv").open(newline="") as handle:
            reader = csv.DictReader(handle)
            columns = list(reader.fieldnames or [])
            found = list(reader)
        assert "currency" in columns, name
        # Both sides know every object (the payout's two days are timing): no exception, every other report has rows.
        assert (found == []) == (name == "reconciliation_exceptions"), name
        minor = [c for c in columns if c.endswith("_minor")]
        assert minor, name
        for column in minor:  # the major-unit column right after its minor units
            assert columns[columns.index(column) + 1] == column.removesuffix("_minor"), (name, column)
        for record in found:
            for column in minor:
                major = major_units(int(record[column]), record["currency"]) if record[column] else ""
                assert record[column.removesuffix("_minor")] == major, (name, column, record)
    with (out / "reconciliation_daily.csv").open(newline="") as handle:
        charge_row = next(r for r in csv.DictReader(handle) if r["category"] == "charge")
    assert (charge_row["journal_minor"], charge_row["journal"], charge_row["currency"]) == (
        str(charged),
        "80.00",
        "EUR",
    )

    table = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "patronage.cli", "reconcile", *period],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert table.returncode == 0, table.stdout + table.stderr
    last = rows[-1]
    closing = major_units(last[9], "EUR")
    assert f"    journal   opening {major_units(last[2], 'EUR')} + " in table.stdout
    assert f"payout {major_units(last[8], 'EUR')} = closing {closing}" in table.stdout
    await asyncio.sleep(1.5)  # the emulator's last webhooks land before the tables are emptied
