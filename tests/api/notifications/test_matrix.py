"""The whole notification matrix of api.md, walked through real flows: each business event queues
exactly its listed deliveries, once, although every webhook is delivered twice."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import asyncpg
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.db.engine import Database
from api.disputes.jobs import sweep_sla
from api.notifications.matrix import MATRIX
from api.notifications.messages import render
from api.payments.gateway import PaymentGateway
from api.payouts.jobs import release_due
from api.settings import Settings
from api.uploads.jobs import process_uploads, time_out_uploads
from api.uploads.storage import storage_from
from tests import stripe_events as se
from tests.api.notifications.queue import deliveries
from tests.api.payouts.flows import (
    another_support,
    captured_support,
    later,
    payout_event,
    payout_object,
    payouts_of,
)
from tests.api.supports.flows import confirm, deliver
from tests.api.uploads.flows import create, mp4_bytes, patch
from tests.conftest import MakeUser

# api.md, "Notifications": event → {audience: channels}. Copied from the contract, not from the code.
CONTRACT: dict[str, dict[str, tuple[str, ...]]] = {
    "payment_succeeded": {"supporter": ("push", "in_app", "email"), "creator": ("in_app",)},
    "payment_failed": {"supporter": ("push", "in_app")},
    "refund_issued": {"supporter": ("push", "in_app", "email"), "creator": ("in_app",)},
    "campaign_update": {"supporter": ("push", "in_app")},
    "dispute_opened": {"creator": ("email",), "ops": ("ops",)},
    "dispute_sla_breach": {"ops": ("ops",)},
    "payout_released": {"creator": ("in_app", "email")},
    "payout_failed": {"creator": ("email",), "ops": ("ops",)},
    "moderation_review_triggered": {"ops": ("ops",)},
    "upload_ready": {"creator": ("push", "in_app")},
    "upload_failed": {"creator": ("push", "in_app")},
}


async def twice(client: AsyncTestClient[Litestar], payload: bytes) -> None:
    await deliver(client, payload)
    assert (await deliver(client, payload))["duplicate"] is True


async def test_every_business_event_produces_exactly_its_deliveries_once(
    client: AsyncTestClient[Litestar],
    make_user: MakeUser,
    db: Database,
    settings: Settings,
    sql: asyncpg.Connection,
) -> None:
    expected: Counter[tuple[str, str, str]] = Counter()

    def expect(event: str, **recipients: str) -> None:
        for audience, channels in CONTRACT[event].items():
            for channel in channels:
                expected[(event, "ops" if audience == "ops" else recipients[audience], channel)] += 1

    # Three supporters pay (payment_succeeded x3); their webhooks below are redelivered.
    kept = await captured_support(client, make_user, 2_500)
    creator = str(kept.creator.user_id)
    disputed = await another_support(client, make_user, kept, 3_000)
    refunded = await another_support(client, make_user, kept, 2_600)
    for support in (kept, disputed, refunded):
        expect("payment_succeeded", supporter=str(support.supporter.user_id), creator=creator)
        intent = se.payment_intent(support.pi, support.amount, "EUR", support.support_id, charge=support.charge)
        assert (await deliver(client, se.event("payment_intent.succeeded", intent)))["outcome"] == "not_applied"

    # A fourth supporter's card is declined.
    failing = make_user("supporter")
    prepared = await client.post(
        f"/v1/projects/{kept.project_id}/supports/prepare",
        json={"tier_id": kept.tier_id, "amount_minor": 2_500, "currency": "EUR"},
        headers=failing.posting(),
    )
    sid = prepared.json()["support_id"]
    pi = (await confirm(client, failing, sid))["checkout"]["payment_intent_id"]
    declined = se.payment_intent(pi, 2_500, "EUR", sid, status="requires_payment_method", error_code="card_declined")
    await twice(client, se.event("payment_intent.payment_failed", declined))
    expect("payment_failed", supporter=str(failing.user_id))

    # A refund and a dispute.
    charge = se.charge(refunded.charge, refunded.pi, 2_600, "EUR", refunded=2_600, refund_id="re_matrix")
    await twice(client, se.event("charge.refunded", charge))
    expect("refund_issued", supporter=str(refunded.supporter.user_id), creator=creator)
    opened = int((datetime.now(UTC) - timedelta(minutes=5)).timestamp())
    dispute = se.dispute("dp_matrix", disputed.charge, disputed.pi, 3_000, "EUR", created=opened)
    await twice(client, se.event("charge.dispute.created", dispute))
    expect("dispute_opened", creator=creator)

    # A campaign update reaches the current supporters: the kept and the disputed one.
    update = await client.post(
        f"/v1/projects/{kept.project_id}/updates", json={"title": "News", "body": "…"}, headers=kept.creator.posting()
    )
    assert update.status_code == 201
    for support in (kept, disputed):
        expect("campaign_update", supporter=str(support.supporter.user_id))

    # The acknowledgement clock runs out (one breach), however often the sweep runs.
    for _ in range(2):
        await sweep_sla(db, datetime.now(UTC) + timedelta(hours=25))
    expect("dispute_sla_breach")

    # The payout is released, then Stripe reports it failed.
    gateway = PaymentGateway(settings.stripe)
    assert await release_due(db, gateway, later(), country="US") == 1
    [payout] = await payouts_of(client, kept.creator, kept.project_id)
    expect("payout_released", creator=creator)
    provider_id = await sql.fetchval("select provider_payout_id from project_payouts")
    failed = payout_object(provider_id, payout["amount_minor"], status="failed", failure_code="account_closed")
    await twice(client, payout_event("payout.failed", failed))
    expect("payout_failed", creator=creator)

    # Fraud reports: the third reaches the threshold (1.5) and opens the review; the fourth joins it.
    for _ in range(4):
        reporter = make_user("supporter")
        response = await client.post(
            f"/v1/projects/{kept.project_id}/reports", json={"reason": "fraud"}, headers=reporter.posting()
        )
        assert response.status_code == 201, response.text
    expect("moderation_review_triggered")

    # The creator's video: one upload processed to ready, one abandoned (expires after 24 h idle).
    video = mp4_bytes(2.0)
    path = await create(client, kept.creator, video, project_id=kept.project_id)
    assert (await patch(client, kept.creator, path, 0, video)).status_code == 204
    assert await process_uploads(db, storage_from(settings), datetime.now(UTC)) == 1
    expect("upload_ready", creator=creator)
    await create(client, kept.creator, mp4_bytes(1.0, seed=2))
    for _ in range(2):
        await time_out_uploads(db, datetime.now(UTC) + timedelta(hours=25))
    expect("upload_failed", creator=creator)

    assert await deliveries(sql) == expected
    assert set(CONTRACT) <= {event for event, _, _ in expected}


def test_the_matrix_is_the_contract_plus_the_ingestion_s_ops_alert() -> None:
    # events.md, "Alerting": the dead-letter check alerts ops through the notification queue.
    assert MATRIX == {**CONTRACT, "dead_letter_alert": {"ops": ("ops",)}}


def test_the_dead_letter_alert_names_the_top_reasons_and_an_example() -> None:
    title, text = render(
        "dead_letter_alert",
        {
            "summary": "landing_files: 3 of 10 events dead-lettered (30.00%); top reason schema_violation",
            "top_reasons": [
                {"reason_code": "schema_violation", "count": 2},
                {"reason_code": "malformed_json", "count": 1},
            ],
            "example_dead_letter_id": "5f0c2d1e-0000-5000-8000-000000000001",
        },
    )
    assert title == "Events dead-lettered"
    assert "Top reasons: schema_violation (2), malformed_json (1)." in text
    assert text.endswith("Example dead letter: 5f0c2d1e-0000-5000-8000-000000000001.")
