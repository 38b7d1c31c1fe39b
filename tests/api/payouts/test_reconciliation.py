"""A release shows up in reconciliation as a `payout` movement of provider_balance."""

from __future__ import annotations

from datetime import UTC, datetime

from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.db.engine import Database
from api.payments.gateway import PaymentGateway
from api.payouts.jobs import release_due
from tests.api.payouts.flows import captured_support, later
from tests.conftest import MakeUser


async def test_a_released_payout_is_a_payout_row_of_the_reconciliation_check(
    client: AsyncTestClient[Litestar], make_user: MakeUser, db: Database, gateway: PaymentGateway
) -> None:
    await captured_support(client, make_user, 2_500)
    released_at = later()
    assert await release_due(db, gateway, released_at, country="US") == 1

    ops = make_user("ops")
    body = {"from_date": datetime.now(UTC).date().isoformat(), "to_date": released_at.date().isoformat()}
    check = await client.post("/v1/reconciliation/checks", json=body, headers=ops.posting())
    assert check.status_code == 201, check.text
    [payout] = [r for r in check.json()["results"] if r["category"] == "payout"]
    # localstripe creates no balance transaction for a payout (it fakes the id): the provider side is empty.
    assert (payout["recon_date"], payout["currency"]) == (released_at.date().isoformat(), "EUR")
    assert (payout["journal_minor"], payout["provider_minor"], payout["status"]) == (-2_500, 0, "missing_in_provider")
    assert len(payout["journal_entry_ids"]) == 1
    assert check.json()["matched"] is False
