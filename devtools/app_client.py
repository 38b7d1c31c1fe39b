"""A client that behaves like the iOS app, over the public HTTP API only (used by the demo).

It browses the feed, sends product events in batches, prepares and confirms supports, pays the
PaymentIntent on Stripe with a test card (as the Stripe SDK's payment sheet would), and polls the
canonical status with ETags until the webhook has finalized the payment.
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import stripe

from api.timestamps import rfc3339

BITRATE_KBPS = {"1080p": 5_000, "720p": 3_000, "540p": 1_800, "360p": 800}  # a typical HLS ladder


@dataclass
class AppClient:
    http: httpx.Client
    token: str
    user_id: uuid.UUID
    app_version: str = "2.4.0"
    session_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    pending_events: list[dict[str, Any]] = field(default_factory=list)
    days_ago: int = 0  # events of a session replayed from an earlier day (an offline queue flushed now)

    def new_session(self, days_ago: int = 0) -> None:
        """The app opened again, `days_ago` days ago (0: now): later events belong to that session."""
        self.session_id, self.days_ago = uuid.uuid4().hex[:16], days_ago

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def posting(self) -> dict[str, str]:
        return {**self.auth, "Idempotency-Key": str(uuid.uuid4())}

    def track(self, name: str, properties: dict[str, Any], project_id: str | None = None) -> None:
        self.pending_events.append(
            {
                "event_id": str(uuid.uuid4()),
                "event_name": name,
                "schema_version": "1.0",
                "occurred_at": rfc3339(datetime.now(UTC) - timedelta(days=self.days_ago)),
                "platform": "ios",
                "app_version": self.app_version,
                "user_id": str(self.user_id),
                "session_id": self.session_id,
                "project_id": project_id,
                "properties": properties,
            }
        )

    def flush_events(self, extra_raw: list[Any] | None = None) -> int:
        """Send the queued events in one batch (plus any raw elements, e.g. a buggy build's)."""
        batch = [*self.pending_events, *(extra_raw or [])]
        self.pending_events.clear()
        if not batch:
            return 0
        response = self.http.post("/v1/events", json={"events": batch}, headers=self.auth)
        response.raise_for_status()
        return int(response.json()["accepted"])

    def browse(self) -> list[dict[str, Any]]:
        self.track("app_open", {"launch": "cold"})
        feed = self.http.get("/v1/feed", params={"limit": 20}, headers=self.auth)
        feed.raise_for_status()
        items: list[dict[str, Any]] = feed.json()["items"]
        for position, item in enumerate(items):
            self.track("feed_impression", {"position": position}, item["project_id"])
        return items

    def view(self, project: dict[str, Any], source: str = "feed") -> None:
        self.track("project_view", {"source": source}, project["project_id"])

    def project(self, project_id: str) -> dict[str, Any]:
        """The project as the app opens it (from a share link, say), with its `playback` policy."""
        response = self.http.get(f"/v1/projects/{project_id}", headers=self.auth)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def watch(self, project: dict[str, Any], video_id: str, seconds: int) -> None:
        """Play the project's video at the best rendition its playback policy allows (the guardrail's cap)."""
        rendition = project["playback"]["max_rendition"]
        kbps = BITRATE_KBPS[rendition]
        self.track(
            "video_play",
            {
                "video_id": video_id,
                "rendition": rendition,
                "watch_ms": seconds * 1000,
                "bitrate_kbps": kbps,
                "bytes_delivered": kbps * 125 * seconds,  # kilobits per second to bytes
            },
            project["project_id"],
        )

    def back(
        self, project: dict[str, Any], payments: stripe.StripeClient, card: str = "pm_card_visa"
    ) -> dict[str, Any]:
        """CTA tap, prepare, confirm, pay on Stripe, then poll until the webhook decided."""
        tier = next(t for t in project["reward_tiers"] if t["reward_type"] == "physical")
        self.track("support_cta_tap", {"tier_id": tier["tier_id"]}, project["project_id"])
        prepared = self.http.post(
            f"/v1/projects/{project['project_id']}/supports/prepare",
            json={"tier_id": tier["tier_id"], "amount_minor": tier["amount_minor"], "currency": project["currency"]},
            headers=self.posting(),
        )
        prepared.raise_for_status()
        support = prepared.json()
        confirmed = self.http.post(f"/v1/supports/{support['support_id']}/confirm", headers=self.posting())
        confirmed.raise_for_status()
        checkout = confirmed.json()["checkout"]
        self.track(
            "checkout_started",
            {
                "support_id": support["support_id"],
                "amount_minor": support["amount_minor"],
                "currency": support["currency"],
            },
            project["project_id"],
        )
        payments.v1.payment_intents.update(checkout["payment_intent_id"], params={"payment_method": card})
        with suppress(stripe.CardError):  # declined: the webhook will say so
            payments.v1.payment_intents.confirm(checkout["payment_intent_id"])
        return self.poll(support["support_id"])

    def poll(self, support_id: str, timeout: float = 20) -> dict[str, Any]:
        """Poll with If-None-Match every poll_after_ms until the status leaves pending_payment."""
        deadline = time.monotonic() + timeout
        etag: str | None = None
        body: dict[str, Any] = {}
        while time.monotonic() < deadline:
            headers = {**self.auth, **({"If-None-Match": etag} if etag else {})}
            response = self.http.get(f"/v1/supports/{support_id}", headers=headers)
            if response.status_code == 200:
                body, etag = response.json(), response.headers.get("etag")
                if body["status"] not in ("pending_payment", "refund_pending"):
                    return body
            time.sleep(body.get("poll_after_ms", 500) / 1000)
        return body

    def register_contact(self, email: str) -> None:
        self.http.put("/v1/me/contact", json={"email": email}, headers=self.auth).raise_for_status()

    def report(self, project_id: str, reason: str) -> dict[str, Any]:
        response = self.http.post(f"/v1/projects/{project_id}/reports", json={"reason": reason}, headers=self.posting())
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def upload_video(self, data: bytes, filename: str, project_id: str | None = None, chunk: int = 256 * 1024) -> str:
        """A tus 1.0.0 upload as TUSKit does it: create, then PATCH chunks from the server's offset."""
        metadata = {"filename": filename, "content_type": "video/mp4", "sha256": hashlib.sha256(data).hexdigest()}
        if project_id:
            metadata["project_id"] = project_id
        encoded = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in metadata.items())
        tus = {"Tus-Resumable": "1.0.0"}
        created = self.http.post(
            "/v1/uploads",
            headers={**self.auth, **tus, "Upload-Length": str(len(data)), "Upload-Metadata": encoded},
        )
        created.raise_for_status()
        location = created.headers["location"]
        offset = int(self.http.head(location, headers={**self.auth, **tus}).headers["upload-offset"])
        while offset < len(data):
            part = data[offset : offset + chunk]
            patched = self.http.patch(
                location,
                content=part,
                headers={
                    **self.auth,
                    **tus,
                    "Upload-Offset": str(offset),
                    "Content-Type": "application/offset+octet-stream",
                    "Upload-Checksum": "sha256 " + base64.b64encode(hashlib.sha256(part).digest()).decode(),
                },
            )
            patched.raise_for_status()
            offset = int(patched.headers["upload-offset"])
        return location.rstrip("/").rsplit("/", 1)[-1]

    def cancel(self, support_id: str) -> dict[str, Any]:
        response = self.http.post(f"/v1/supports/{support_id}/cancel", headers=self.posting())
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result
