"""A release shows up in reconciliation as a `payout` movement of provider_balance."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.db.engine import Database
from api.payments.gateway import PaymentGateway
from api.payouts.jobs import release_due
from tests.api.payouts.flows import captured_support, later
from tests.conftest import MakeUser


async def test_a_released_payout_is_a_payout_row_of_the_reconciliation_check(
    client: AsyncTestClient[Litestar], make_user: MakeUser, db: Database, gateway: PaymentGateway, local_stripe: str
) -> None:
    async with httpx.AsyncClient() as http:  # the provider's payouts are this test's only
        (await http.delete(f"{local_stripe}/_config/data")).raise_for_status()
    await captured_support(client, make_user, 2_500)
    released_at = later()
    assert await release_due(db, gateway, released_at, country="US") == 1

    ops = make_user("ops")
    today = datetime.now(UTC).date().isoformat()
    body = {"from_date": today, "to_date": released_at.date().isoformat()}
    check = await client.post("/v1/reconciliation/checks", json=body, headers=ops.posting())
    assert check.status_code == 201, check.text
    payouts = {r["recon_date"]: r for r in check.json()["results"] if r["category"] == "payout"}
    # The journal books the release at the worker's (here: future) time; the local provider records its payout's
    # balance transaction when it is sent, today: each side's row names what the other lacks that day.
    journal, provider = payouts[released_at.date().isoformat()], payouts[today]
    assert (journal["currency"], journal["journal_minor"], journal["provider_minor"], journal["status"]) == (
        "EUR",
        -2_500,
        0,
        "missing_in_provider",
    )
    assert len(journal["journal_entry_ids"]) == 1
    assert (provider["journal_minor"], provider["provider_minor"], provider["status"]) == (
        0,
        -2_500,
        "missing_in_journal",
    )
    assert len(provider["provider_transaction_ids"]) == 1
    assert check.json()["matched"] is False
