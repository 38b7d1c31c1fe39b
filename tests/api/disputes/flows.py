"""Helpers for dispute tests: a paid support disputed through signed Stripe events, and what the queue holds."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests import stripe_events as se
from tests.api.supports.flows import back_project, confirm, deliver, new_ids
from tests.conftest import MakeUser, User

DAY = 86_400


def at(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


@dataclass
class Paid:
    """A succeeded support, ready to be disputed."""

    creator: User
    supporter: User
    support_id: str
    project_id: str
    amount: int
    pi: str
    charge: str
    dp: str


async def paid_support(client: AsyncTestClient[Litestar], make_user: MakeUser, amount: int = 2_500) -> Paid:
    creator, supporter, support = await back_project(client, make_user, amount_minor=amount)
    pi = (await confirm(client, supporter, support["support_id"]))["checkout"]["payment_intent_id"]
    ids = new_ids()
    succeeded = se.payment_intent(pi, amount, "EUR", support["support_id"], charge=ids["ch"])
    assert (await deliver(client, se.event("payment_intent.succeeded", succeeded)))["outcome"] == "applied"
    return Paid(creator, supporter, support["support_id"], support["project_id"], amount, pi, ids["ch"], ids["dp"])


def dispute_event(
    paid: Paid, *, created: int, due_by: int | None, status: str = "needs_response", closed_at: int | None = None
) -> bytes:
    """`charge.dispute.created`, or `.closed` (at `closed_at`) when `status` is won/lost.

    `created` is the Stripe dispute's own creation time; `due_by=None`: Stripe gives no evidence deadline.
    """
    obj: dict[str, Any] = se.dispute(
        paid.dp, paid.charge, paid.pi, paid.amount, "EUR", status=status, created=created, due_by=due_by
    )
    if due_by is None:
        obj["evidence_details"]["due_by"] = None
    if status in ("won", "lost"):
        return se.event("charge.dispute.closed", obj, created=closed_at or created + 60)
    return se.event("charge.dispute.created", obj, created=created)


async def open_dispute(
    client: AsyncTestClient[Litestar], paid: Paid, *, created: int, due_by: int | None = None
) -> str:
    """Deliver `charge.dispute.created`; returns the dispute id."""
    assert (await deliver(client, dispute_event(paid, created=created, due_by=due_by)))["outcome"] == "applied"
    return await dispute_id_of(client, paid)


async def dispute_id_of(client: AsyncTestClient[Litestar], paid: Paid) -> str:
    read = (await client.get(f"/v1/supports/{paid.support_id}", headers=paid.supporter.headers)).json()
    assert read["dispute_id"], read
    return str(read["dispute_id"])


async def close(
    client: AsyncTestClient[Litestar], paid: Paid, *, created: int, due_by: int | None = None, outcome: str = "won"
) -> None:
    await deliver(client, dispute_event(paid, created=created, due_by=due_by, status=outcome))


async def closed_dispute(client: AsyncTestClient[Litestar], make_user: MakeUser, outcome: str) -> str:
    """A paid support's dispute, opened a minute ago and closed `won` or `lost`; returns the dispute id."""
    paid = await paid_support(client, make_user)
    created = int(time.time()) - 60
    dispute_id = await open_dispute(client, paid, created=created, due_by=created + 9 * DAY)
    await close(client, paid, created=created, due_by=created + 9 * DAY, outcome=outcome)
    return dispute_id


async def deliveries(sql: asyncpg.Connection, event_type: str) -> Counter[tuple[str, str]]:
    """(recipient, channel) → deliveries of `event_type`; recipient is a user id or 'ops'."""
    rows = await sql.fetch(
        "select coalesce(d.recipient_id::text, 'ops') as recipient, d.channel "
        "from notification_deliveries d join notification_events e using (notification_event_id) "
        "where e.event_type = $1",
        event_type,
    )
    return Counter((r["recipient"], r["channel"]) for r in rows)
