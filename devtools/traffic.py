"""Realistic iOS-like traffic through the public HTTP API only, for the demo and the end-to-end test.

Creators publish projects (one uploads its video with tus and posts a campaign update); supporters
register where notifications reach them, browse the feed, view projects, tap the CTA and pay on
Stripe with test cards (one declined), some cancel within the window (refund), one payment is
disputed, some report a project, and everyone's product events arrive in batches — a few of them
broken. Sessions are spread over the last `days` days (their events replayed from the app's
offline queue). The dispute is opened by the local provider, which records its balance transaction
and sends the webhook as Stripe does; what Stripe would send but the emulator cannot (refunds) is
signed with the webhook secret, exactly as Stripe signs it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import stripe

from api.auth import Role, issue_token
from api.settings import Settings
from devtools.app_client import AppClient

WEBHOOK = "/v1/payments/webhooks/stripe"


@dataclass
class TrafficSummary:
    creators: int = 0
    supporters: int = 0
    supports: Counter[str] = field(default_factory=Counter)
    events_landed: int = 0
    reports: int = 0
    reviews_triggered: int = 0
    disputes: list[str] = field(default_factory=list)
    uploads: list[str] = field(default_factory=list)
    projects: list[str] = field(default_factory=list)


@dataclass
class Traffic:
    http: httpx.Client
    settings: Settings
    payments: stripe.StripeClient
    summary: TrafficSummary = field(default_factory=TrafficSummary)

    def user(self, role: Role, days_ago: int = 0) -> AppClient:
        user_id = uuid.uuid4()
        token = issue_token(self.settings.auth, user_id, role, ttl_seconds=6 * 3600)
        return AppClient(http=self.http, token=token, user_id=user_id, days_ago=days_ago)

    def stripe_event(self, event_type: str, obj: dict[str, Any]) -> None:
        """Deliver a Stripe-shaped event signed with the webhook secret (what the emulator cannot send)."""
        created = int(time.time())
        payload = json.dumps(
            {
                "id": f"evt_demo_{uuid.uuid4().hex[:16]}",
                "object": "event",
                "type": event_type,
                "created": created,
                "data": {"object": obj},
            }
        ).encode()
        digest = hmac.new(
            self.settings.stripe.webhook_secret.encode(), f"{created}.".encode() + payload, hashlib.sha256
        )
        signature = f"t={created},v1={digest.hexdigest()}"
        response = self.http.post(
            WEBHOOK, content=payload, headers={"Stripe-Signature": signature, "Content-Type": "application/json"}
        )
        response.raise_for_status()

    def charge_of(self, support: dict[str, Any]) -> dict[str, Any]:
        intent = self.payments.v1.payment_intents.retrieve(str(support["payment_intent_id"])).to_dict()
        charge = intent["latest_charge"]
        return {
            "id": charge["id"] if isinstance(charge, dict) else charge,
            "payment_intent": intent["id"],
            "amount": intent["amount"],
            "currency": intent["currency"],
        }

    def refund(self, support: dict[str, Any]) -> None:
        charge = self.charge_of(support)
        refund = self.payments.v1.refunds.list(params={"payment_intent": charge["payment_intent"]}).data[0]
        self.stripe_event(
            "charge.refunded",
            {
                **charge,
                "object": "charge",
                "amount_refunded": charge["amount"],
                "refunds": {"data": [{"id": refund.id}]},
            },
        )

    def dispute(self, app: AppClient, support: dict[str, Any], timeout: float = 20) -> dict[str, Any]:
        """The provider opens a dispute on the support's charge (the local provider's control route: Stripe opens
        them itself), with its balance transaction, and sends `charge.dispute.created`; the support once disputed."""
        charge = self.charge_of(support)
        provider = self.settings.stripe.api_base
        if provider is None:
            raise RuntimeError("disputes are opened on the local provider: set STRIPE_API_BASE to it")
        opened = httpx.post(
            f"{provider}/_config/charges/{charge['id']}/dispute", data={"reason": "product_not_received"}
        )
        opened.raise_for_status()
        deadline = time.monotonic() + timeout
        while True:  # the provider's webhook arrives on its own
            current = app.poll(str(support["support_id"]))
            if current.get("status") == "disputed" or time.monotonic() > deadline:
                return current
            time.sleep(0.2)

    def run(self, users: int, days: int) -> TrafficSummary:
        creators = [self.user(Role.creator) for _ in range(max(2, users // 8))]
        projects = []
        for n, creator in enumerate(creators):
            creator.register_contact(f"creator{n}@example.org")
            response = self.http.post(
                "/v1/projects",
                headers=creator.posting(),
                json={
                    "title": ["Hand-bound travel journal", "Wheel-thrown mug set", "Letterpress prints"][n % 3],
                    "description": "A limited run.",
                    "currency": "EUR",
                    "goal_minor": 500_000,
                    "reward_tiers": [
                        {"title": "The reward", "amount_minor": 2_500 + 700 * n, "reward_type": "physical"}
                    ],
                },
            )
            response.raise_for_status()
            projects.append(response.json()["project_id"])
        self.summary.creators, self.summary.projects = len(creators), projects
        self.summary.uploads.append(
            creators[0].upload_video(b"\x00\x00\x00\x18ftypmp42" + bytes(600_000), "trailer.mp4", projects[0])
        )

        supporters = max(users - len(creators), 1)
        self.summary.supporters = supporters
        disputed = False
        for n in range(supporters):
            pays = n % 3 != 2
            # Payments happen now, so paying sessions are today's; browsing history spreads over `days`.
            app = self.user(Role.supporter, days_ago=0 if pays else n % days)
            app.register_contact(f"supporter{n}@example.org")
            items = app.browse()
            project = items[n % len(items)]
            app.view(project)
            if pays:
                card = "pm_card_chargeCustomerFail" if n % 7 == 4 else "pm_card_visa"
                support = app.back(project, self.payments, card)
                if support["status"] == "succeeded" and n % 5 == 1:
                    app.cancel(support["support_id"])
                    self.refund(support)
                    support = app.poll(support["support_id"])
                elif support["status"] == "succeeded" and not disputed and n % 5 == 3:
                    support = self.dispute(app, support)
                    self.summary.disputes.append(str(support.get("dispute_id")))
                    disputed = True
                self.summary.supports[support["status"]] += 1
            if n % 4 == 0:
                report = app.report(project["project_id"], "fraud" if n % 8 == 0 else "spam")
                self.summary.reports += 1
                self.summary.reviews_triggered += bool(report["review_triggered"])
            broken = [{"event_name": "project_view"}, "not an event"] if n == 0 else None
            self.summary.events_landed += app.flush_events(broken)

        update = self.http.post(
            f"/v1/projects/{projects[0]}/updates",
            headers=creators[0].posting(),
            json={"title": "Production started", "body": "The first batch is on the press."},
        )
        update.raise_for_status()
        return self.summary
