"""Realistic iOS-like traffic through the public HTTP API only, for the demo and the end-to-end test.

Creators publish projects (one uploads its video with tus and posts a campaign update); supporters
register where notifications reach them, browse the feed, view projects, tap the CTA and pay on
Stripe with test cards (one declined), some cancel within the window (refund), one payment is
disputed, some report a project, and everyone's product events arrive in batches — a few of them
broken. Sessions are spread over the last `days` days (their events replayed from the app's offline
queue), payments with them: the local provider's test clock is set to the supporter's day, so the
charge, its balance transaction and its webhook's `created` carry that day, and the API dates the
payment by it (the webhook itself arrives now, which is when the payment becomes final). Two projects
go viral through a shared link: one recently, which nobody backs, so that the bitrate guardrail caps it;
and one earlier, backed in the days after, which the guardrail caps and then lifts. The dispute is
opened by the local provider, which records its balance transaction and sends the webhook as Stripe
does; what Stripe would send but the emulator cannot (refunds) is signed with the webhook secret,
exactly as Stripe signs it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import stripe

from api.auth import Role, issue_token
from api.settings import Settings
from devtools.app_client import AppClient

WEBHOOK = "/v1/payments/webhooks/stripe"
BROKEN_EVENTS: list[Any] = [{"event_name": "project_view"}, "not an event"]  # a buggy build's: no ids, no object
WATCH_SECONDS = 45
CROWD_CONNECTIONS = 4
SUPPORTERS_AT_ONCE = 8  # a day's supporters use the app at the same time


def guardrail_min_viewers() -> int:
    """The bitrate guardrail's minimum audience (analytics.md, rule v1), as the dbt project sets it."""
    import yaml  # type: ignore[import-untyped]  # dbt's own dependency

    from pipelines.project import DBT_PROJECT_DIR

    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    return int(project["vars"]["guardrail_min_viewers"])


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
    broken_events: int = 0  # a buggy build's events among `events_landed`: the pipeline dead-letters them
    crowds: list[str] = field(default_factory=list)  # what the guardrail has to react to, one line each


@dataclass
class Supporter:
    """What one supporter's day left: the support's final status (if they paid), the dispute opened on it, the
    report they filed, the events their app sent."""

    status: str | None = None
    dispute: str | None = None
    report: dict[str, Any] | None = None
    broken_events: int = 0
    events_landed: int = 0


@dataclass
class Traffic:
    http: httpx.Client
    settings: Settings
    payments: stripe.StripeClient
    summary: TrafficSummary = field(default_factory=TrafficSummary)
    days_ago: int = 0  # the local provider's test clock

    def user(self, role: Role, days_ago: int = 0) -> AppClient:
        user_id = uuid.uuid4()
        token = issue_token(self.settings.auth, user_id, role, ttl_seconds=6 * 3600)
        return AppClient(http=self.http, token=token, user_id=user_id, days_ago=days_ago)

    def provider_day(self, days_ago: int) -> None:
        """Set the local provider's test clock `days_ago` days back (0: now): what it creates is dated then."""
        base = self.settings.stripe.api_base
        if base is None:
            raise RuntimeError("the demo's history needs the local provider: set STRIPE_API_BASE to it")
        httpx.post(f"{base}/_config/clock", json={"offset_seconds": -days_ago * 86_400}).raise_for_status()
        self.days_ago = days_ago

    def stripe_event(self, event_type: str, obj: dict[str, Any]) -> None:
        """Deliver a Stripe-shaped event signed with the webhook secret (what the emulator cannot send), created on
        the provider's current day and signed now, as Stripe signs a delivery."""
        sent = int(time.time())
        payload = json.dumps(
            {
                "id": f"evt_demo_{uuid.uuid4().hex[:16]}",
                "object": "event",
                "type": event_type,
                "created": sent - self.days_ago * 86_400,
                "data": {"object": obj},
            }
        ).encode()
        digest = hmac.new(self.settings.stripe.webhook_secret.encode(), f"{sent}.".encode() + payload, hashlib.sha256)
        signature = f"t={sent},v1={digest.hexdigest()}"
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

    def create_projects(self, count: int) -> tuple[list[AppClient], list[str]]:
        """`count` creators, each with a live project of one physical reward tier (in EUR)."""
        creators = [self.user(Role.creator) for _ in range(count)]
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
        return creators, projects

    def run(self, users: int, days: int) -> TrafficSummary:
        creators, projects = self.create_projects(max(2, users // 8))
        self.summary.creators, self.summary.projects = len(creators), projects
        self.summary.uploads.append(
            creators[0].upload_video(b"\x00\x00\x00\x18ftypmp42" + bytes(600_000), "trailer.mp4", projects[0])
        )

        supporters = max(users - len(creators), 1)
        self.summary.supporters = supporters
        # The trailer's project goes viral without converting (the guardrail caps it: guardrail_crowds); the next
        # one's crowd comes `recovery_day` days ago, before any of its payments, which later lift its cap.
        viral, recovering = projects[0], projects[1] if len(projects) >= 3 and days >= 4 else None
        recovery_day = min(days - 1, 5)
        # One payment is disputed: the first supporter who pays by a card that succeeds, of those whose n % 5 is 3.
        disputed = next((n for n in range(supporters) if n % 5 == 3 and n % 3 != 2 and n % 7 != 4), None)

        def supporter(n: int) -> Supporter:
            """Supporter n's day, `n % days` days ago: browse and view (the app's offline queue replays that session's
            events); who pays comes back later that day and pays on the provider's clock of that day."""
            pays, outcome = n % 3 != 2, Supporter()
            app = self.user(Role.supporter, days_ago=n % days)
            app.register_contact(f"supporter{n}@example.org")
            items = app.browse()
            wanted = [p for p in projects if p != viral and (p != recovering or app.days_ago < recovery_day)]
            choices = [item for item in items if item["project_id"] in wanted] or items
            project = choices[n % len(choices)]
            app.view(project)
            if pays:
                app.new_session(days_ago=app.days_ago)
                app.track("app_open", {"launch": "cold"})
                app.view(project, source="notification" if n % 2 else "search")
                card = "pm_card_chargeCustomerFail" if n % 7 == 4 else "pm_card_visa"
                support = app.back(project, self.payments, card)
                if support["status"] == "succeeded" and n % 5 == 1:
                    app.cancel(support["support_id"])
                    self.refund(support)
                    support = app.poll(support["support_id"])
                elif support["status"] == "succeeded" and n == disputed:
                    support = self.dispute(app, support)
                    outcome.dispute = str(support.get("dispute_id"))
                outcome.status = support["status"]
            if n % 4 == 0:
                outcome.report = app.report(project["project_id"], "fraud" if n % 8 == 0 else "spam")
            broken = BROKEN_EVENTS if n == 0 else None
            outcome.broken_events = len(broken or [])
            outcome.events_landed = app.flush_events(broken)
            return outcome

        try:
            # A day's supporters at once, as phones are: their payments wait for the provider's webhook together.
            # Days one after the other: the provider's test clock is one for all.
            for day in range(min(days, supporters)):
                self.provider_day(day)
                with ThreadPoolExecutor(max_workers=SUPPORTERS_AT_ONCE) as phones:
                    outcomes = list(phones.map(supporter, range(day, supporters, days)))
                for outcome in outcomes:
                    if outcome.status is not None:
                        self.summary.supports[outcome.status] += 1
                    if outcome.dispute is not None:
                        self.summary.disputes.append(outcome.dispute)
                    if outcome.report is not None:
                        self.summary.reports += 1
                        self.summary.reviews_triggered += bool(outcome.report["review_triggered"])
                    self.summary.broken_events += outcome.broken_events
                    self.summary.events_landed += outcome.events_landed
        finally:  # the provider's clock back to now, whatever happened
            self.provider_day(0)
        self.guardrail_crowds(viral, days, (recovering, recovery_day) if recovering else None)

        update = self.http.post(
            f"/v1/projects/{projects[0]}/updates",
            headers=creators[0].posting(),
            json={"title": "Production started", "body": "The first batch is on the press."},
        )
        update.raise_for_status()
        return self.summary

    def crowd(self, project_id: str, days_ago: int, size: int) -> None:
        """`size` people open a shared link to the project on one day, `days_ago` days ago: each signed-in
        app views it (and plays its video, if it has one, at the rendition its playback policy allows) and
        sends its own batch. Nobody backs it that day."""
        project = self.user(Role.supporter).project(project_id)  # the same page for all: read once
        video = self.summary.uploads[0] if project_id == self.summary.projects[0] and self.summary.uploads else None

        def visit(_: int) -> int:
            app = self.user(Role.supporter, days_ago=days_ago)
            app.track("app_open", {"launch": "cold"})
            app.view(project, source="share_link")
            if video:
                app.watch(project, video, WATCH_SECONDS)
            return app.flush_events()

        with ThreadPoolExecutor(max_workers=CROWD_CONNECTIONS) as phones:  # many phones at once, as a crowd is
            self.summary.events_landed += sum(phones.map(visit, range(size)))

    def guardrail_crowds(self, viral: str, days: int, recovering: tuple[str, int] | None) -> None:
        """Two projects go viral through share links without converting, so the bitrate guardrail (rule v1)
        has something to decide: `viral` is capped recently and stays capped (nobody backs it, and its recovery
        window is still open today); `recovering` is capped on its crowd's day, and the supporters who back it
        in the days after bring it over the conversion that lifts its cap. Needs `days` of history: 2 and 4."""
        size = guardrail_min_viewers() + 10  # distinct viewers, a little over the rule's minimum
        if days >= 2:
            when = min(days - 1, 2)
            self.crowd(viral, when, size)
            self.summary.crowds.append(f"{size} viewers, no supporter, {when} days ago: project {viral}")
        if recovering:
            project, when = recovering
            self.crowd(project, when, size)
            self.summary.crowds.append(
                f"{size} viewers, no supporter, {when} days ago, supporters after: project {project}"
            )
