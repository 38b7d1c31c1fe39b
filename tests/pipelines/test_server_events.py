"""The API's server events, written in business transactions, pass the contract in the pipeline."""

from __future__ import annotations

import uuid

from litestar import Litestar
from litestar.testing import AsyncTestClient

from pipelines.runs import ingest_landing_table
from tests import stripe_events as se
from tests.api.supports.flows import deliver, succeeded_support
from tests.conftest import MakeUser
from tests.pipelines.conftest import LocalRunStores, query


async def test_a_support_lifecycle_lands_only_valid_server_events(
    client: AsyncTestClient[Litestar], make_user: MakeUser, where: LocalRunStores
) -> None:
    _, _, pi, charge = await succeeded_support(client, make_user)
    await deliver(client, se.event("charge.refunded", se.charge(charge, pi, 2_500, "EUR", refunded=500)))
    dp = "dp_" + uuid.uuid4().hex[:12]
    await deliver(client, se.event("charge.dispute.created", se.dispute(dp, charge, pi, 2_500, "EUR")))
    await deliver(client, se.event("charge.dispute.closed", se.dispute(dp, charge, pi, 2_500, "EUR", status="won")))

    audit = ingest_landing_table(where, "run-1")
    assert audit.dead_lettered == 0, audit
    names = {name for (name,) in query(where, "select event_name from raw.events")}
    platforms = {p for (p,) in query(where, "select distinct platform from raw.events")}
    assert names == {"support_prepared", "payment_succeeded", "refund_issued", "dispute_opened", "dispute_closed"}
    assert platforms == {"server"}
