"""The one story the OpenAPI examples tell (api/openapi_examples.py), as the API's documents: a creator's
project and its pitch video, a supporter backing it on 2026-12-06 (prepared, confirmed, paid, cancelled), a
dispute on another support of it, two fraud reports and the review they open. Ids recur wherever the story
passes them along, so a flow read from operation to operation holds together.
"""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Any

from api.pagination import encode_cursor

CREATOR_ID = "d92ca046-b733-4e2c-a8dc-3f220d1b2ac9"
SUPPORTER_ID = "2369f124-094e-46b8-91c6-60815a841432"
OPS_ID = "23acfcac-a54a-4dca-ae65-e03a7c58f010"
REPORTER_ID = "577bc3c3-f672-4223-9f57-b7c2b297b66d"
PROJECT_ID = "53805457-c749-4d80-a1d1-338528a18099"
TIER_ID = "02c3f910-511f-4933-bf84-7200c0e4a190"
DIGITAL_TIER_ID = "59e34b53-eab1-41b3-a5ae-8e06a0bc06d5"
UPDATE_ID = "dcc3f071-9f72-4084-9618-0e317eddd618"
UPLOAD_ID = "41a9ee35-4c9c-4471-bb6a-eef946ef138c"
SUPPORT_ID = "80f46e6b-5332-4e87-94e9-adf530659116"
DISPUTED_SUPPORT_ID = "eca41242-f35d-4c96-855f-1e1c3f13e2bd"
DISPUTE_ID = "a58948fb-1498-4216-af6b-14b092d69bbc"
ATTEMPT_ID = "1039b05a-815e-4818-9416-d7514817f85b"
NOTIFICATION_ID = "58ef342d-7af0-48a8-8ae0-f5f609ab067f"
OLDER_NOTIFICATION_ID = "f78be33c-6fb0-4396-b998-c29053a4c11c"
REPORT_ID = "bec6d40d-4b61-4db0-9fb3-9ab489d69ce2"
EARLIER_REPORT_ID = "e30f9c51-4c23-42ac-994f-4725c4a8a120"
REVIEW_ID = "ea5e09a1-fd20-4829-876b-cf80eb65cb64"
CHECK_ID = "2fa314b4-e756-4969-bb84-ec308817839b"
PAYOUT_ID = "30df88f8-0d7b-4ff0-a3bf-372066fdbd91"
PAID_PAYOUT_ID = "e5df50b1-a6a8-4251-96df-e7a8cfa57a0f"
HOLD_ENTRY_ID = "3c2983d1-9d69-4de7-a88e-917a9fdef476"
DISPUTED_HOLD_ENTRY_ID = "6a4f0e2b-9d53-4c1e-8b7a-2f3e5d6c7b81"
DISPUTE_ENTRY_ID = "f4074c57-4234-4bdf-afe9-2b893f56fa07"
PAYMENT_INTENT_ID = "pi_3QgV8tLkdIwHu7ix1Xq5Rz2a"
CHARGE_ID = "ch_3QgV8tLkdIwHu7ix1Ab2Cd3e"
SUCCEEDED_EVENT_ID = "evt_3QgV8tLkdIwHu7ix1Jk4Lm5n"
PROVIDER_DISPUTE_ID = "dp_1QfB3cLkdIwHu7ixR2s4T6u8"
APNS_DEVICE_HEX = "d67087b049ecb647d50ff0a0f8e1cc5abdfbca70e0d9d201336e19bfa3d4ec41"  # an app install's push address
VIDEO_SHA256 = "5b3b1bf1560b40b92d056b88a616d4d73d8b95bddb0caf8d285e557830f1db77"
VIDEO_BYTES = 248_512_000
CHUNK_BYTES = 52_428_800
PROJECT_CREATED_AT = "2026-11-20T09:15:00Z"
ETAG = '"3f2a9c0e5b7d41f6a8c2e9b0d4f7a1c3"'


def cursor(at: str, row_id: str) -> str:
    """A cursor as the API issues it: the sort time and id of the row a page ended with."""
    return encode_cursor(datetime.fromisoformat(at).astimezone(UTC), uuid.UUID(row_id))


def tus_metadata(**pairs: str) -> str:
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in pairs.items())


# --- projects -------------------------------------------------------------------------------------------------

TIERS = [
    {"tier_id": TIER_ID, "title": "Early-bird recorder", "amount_minor": 8900, "reward_type": "physical"},
    {"tier_id": DIGITAL_TIER_ID, "title": "Field sound pack", "amount_minor": 1500, "reward_type": "digital"},
]
PROJECT_CREATE = {
    "title": "Field Recorder Mk II",
    "description": "A pocket field recorder with four XLR inputs and 32-bit float recording, built in Lisbon.",
    "currency": "EUR",
    "goal_minor": 1_500_000,
    "reward_tiers": [{k: v for k, v in tier.items() if k != "tier_id"} for tier in TIERS],
    "video_upload_id": UPLOAD_ID,
}
PROJECT = {
    "project_id": PROJECT_ID,
    "creator_id": CREATOR_ID,
    **PROJECT_CREATE,
    "status": "live",
    "reward_tiers": TIERS,
    "playback": {"max_rendition": "1080p"},
    "created_at": PROJECT_CREATED_AT,
}
FEED_PAGE = {"items": [PROJECT], "next_cursor": cursor(PROJECT_CREATED_AT, PROJECT_ID)}
UPDATE_CREATE = {"title": "The second prototype works", "body": "All four inputs recorded a full day on one charge."}
UPDATE = {"update_id": UPDATE_ID, "project_id": PROJECT_ID, **UPDATE_CREATE, "created_at": "2026-12-06T09:00:00Z"}

# --- supports -------------------------------------------------------------------------------------------------

POLICY_SNAPSHOT = {
    "policy_version": "2026-11-physical-v1",
    "reward_type": "physical",
    "cancellation_window_hours": 48,
    "refund_policy": "Cancel within 48 hours of a successful payment for a full refund; afterwards the creator "
    "ships the reward and no refund is given except through a dispute.",
}
PREPARE = {"tier_id": TIER_ID, "amount_minor": 8900, "currency": "EUR"}
_SUPPORT = {"support_id": SUPPORT_ID, "project_id": PROJECT_ID, **PREPARE, "policy_snapshot": POLICY_SNAPSHOT}
PREPARED = {**_SUPPORT, "status": "prepared", "expires_at": "2026-12-07T10:04:12Z"}
CONFIRMED = {
    "support_id": SUPPORT_ID,
    "status": "pending_payment",
    "checkout": {
        "provider": "stripe",
        "payment_intent_id": PAYMENT_INTENT_ID,
        "client_secret": f"{PAYMENT_INTENT_ID}_secret_Vb8Tq3LmZs0KfX1yNc4Rw7Ue",
        "publishable_key": "pk_test_51QcXnDLkdIwHu7ixExamplePublishableKey00",
    },
}


def _step(from_status: str | None, to_status: str, reason: str, at: str, **more: Any) -> dict[str, Any]:
    source = "webhook" if "provider_event_id" in more else "api"
    step = {"from_status": from_status, "to_status": to_status, "reason": reason, "source": source}
    return {**step, "applied": True, "occurred_at": at, **more}


HISTORY = [
    _step(None, "prepared", "prepare", "2026-12-06T10:04:12Z"),
    _step("prepared", "pending_payment", "confirm", "2026-12-06T10:04:30Z"),
    _step(
        "pending_payment",
        "succeeded",
        "payment_intent.succeeded",
        "2026-12-06T10:04:41Z",
        provider_event_id=SUCCEEDED_EVENT_ID,
    ),
]
PENDING_SUPPORT = {
    **_SUPPORT,
    "status": "pending_payment",
    "history": HISTORY[:2],
    "payment_intent_id": PAYMENT_INTENT_ID,
    "poll_after_ms": 2000,
}
SUPPORT = {
    **_SUPPORT,
    "status": "succeeded",
    "history": HISTORY,
    "payment_intent_id": PAYMENT_INTENT_ID,
    "succeeded_at": "2026-12-06T10:04:41Z",
    "cancellable_until": "2026-12-08T10:04:41Z",
}
CANCELLED_SUPPORT = {
    **SUPPORT,
    "status": "refund_pending",
    "history": [*HISTORY, _step("succeeded", "refund_pending", "cancel", "2026-12-06T18:30:00Z")],
    "poll_after_ms": 2000,
}

# --- payments, journal, payouts -------------------------------------------------------------------------------

SUCCEEDED_EVENT = {  # the members the document declares; Stripe sends more (object, api_version, livemode)
    "id": SUCCEEDED_EVENT_ID,
    "type": "payment_intent.succeeded",
    "created": 1796551481,
    "data": {
        "object": {
            "id": PAYMENT_INTENT_ID,
            "object": "payment_intent",
            "amount": 8900,
            "amount_received": 8900,
            "currency": "eur",
            "status": "succeeded",
            "latest_charge": CHARGE_ID,
            "metadata": {"support_id": SUPPORT_ID},
        }
    },
}
STRIPE_SIGNATURE = "t=1796551482,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd"


def _line(account_code: str, project_id: str | None, amount_minor: int) -> dict[str, Any]:
    return {"account_code": account_code, "project_id": project_id, "currency": "EUR", "amount_minor": amount_minor}


HOLD_ENTRIES = {
    "items": [
        {
            "entry_id": HOLD_ENTRY_ID,
            "entry_type": "support_hold",
            "occurred_at": "2026-12-06T10:04:41Z",
            "project_id": PROJECT_ID,
            "support_id": SUPPORT_ID,
            "payout_id": None,
            "dispute_id": None,
            "provider_event_id": SUCCEEDED_EVENT_ID,
            "provider_object_id": CHARGE_ID,
            "lines": [_line("provider_balance", None, 8900), _line("creator_payable", PROJECT_ID, -8900)],
        }
    ],
    "next_cursor": None,
}
_BALANCES = [("creator_payable", PROJECT_ID, -17800), ("disputed_funds", None, 8900), ("provider_balance", None, 8900)]
BALANCES = {
    "balances": [
        {"account_code": account, "project_id": project, "currency": "EUR", "balance_minor": balance}
        for account, project, balance in _BALANCES
    ],
    "totals": [{"currency": "EUR", "total_minor": 0}],
}


def _reconciled(day: str, category: str, journal: int, provider: int, txns: list[str], entry: str) -> dict[str, Any]:
    status = "matched" if journal == provider else "missing_in_provider" if not txns else "mismatch"
    return {
        "recon_date": day,
        "currency": "EUR",
        "category": category,
        "journal_minor": journal,
        "provider_minor": provider,
        "difference_minor": journal - provider,
        "status": status,
        "provider_transaction_ids": txns,
        "journal_entry_ids": [entry],
    }


RECONCILE = {"from_date": "2026-11-30", "to_date": "2026-12-06"}
CHECK = {
    "check_id": CHECK_ID,
    **RECONCILE,
    "created_at": "2026-12-06T12:00:03Z",
    "matched": False,
    "results": [
        _reconciled("2026-11-30", "charge", 8900, 8900, ["txn_3QeR1aLkdIwHu7ix0Hn7Pq2W"], DISPUTED_HOLD_ENTRY_ID),
        _reconciled("2026-12-01", "dispute", -8900, -8900, ["txn_1QfB3cLkdIwHu7ixS8t0U2v4"], DISPUTE_ENTRY_ID),
        _reconciled("2026-12-06", "charge", 8900, 0, [], HOLD_ENTRY_ID),
    ],
}


def _payout(payout_id: str, status: str, execution: str, settlement: str) -> dict[str, Any]:
    return {
        "payout_id": payout_id,
        "status": status,
        "currency": "EUR",
        "amount_minor": 8900,
        "execution_date": execution,
        "settlement_target_date": settlement,
        "reserve_minor": 0,
        "reserve_policy": "disabled",
        "support_count": 1,
    }


PAYOUTS = {
    "items": [
        _payout(PAID_PAYOUT_ID, "paid", "2026-12-01", "2026-12-03"),
        _payout(PAYOUT_ID, "scheduled", "2026-12-07", "2026-12-09"),
    ],
    "next_cursor": None,
}

# --- disputes ---------------------------------------------------------------------------------------------------

ATTEMPT_CREATE = {
    "method": "evidence_submission",
    "note": "Shipping confirmation and the carrier's tracking number sent to Stripe.",
}
ATTEMPT = {
    "attempt_id": ATTEMPT_ID,
    "dispute_id": DISPUTE_ID,
    **ATTEMPT_CREATE,
    "amount_minor": None,
    "created_by": OPS_ID,
    "created_at": "2026-12-06T11:10:00Z",
}
_SLA: dict[str, Any] = {
    "ack_due_at": "2026-12-02T08:12:40Z",
    "acked_at": "2026-12-01T09:30:05Z",
    "triage_due_at": "2026-12-04T08:12:40Z",
    "triaged_at": None,
    "resolution_due_at": "2026-12-11T23:59:59Z",
    "resolved_at": None,
    "breaches": [],
}
ACKNOWLEDGED_DISPUTE = {
    "dispute_id": DISPUTE_ID,
    "support_id": DISPUTED_SUPPORT_ID,
    "project_id": PROJECT_ID,
    "provider_dispute_id": PROVIDER_DISPUTE_ID,
    "status": "open",
    "reason": "fraudulent",
    "amount_minor": 8900,
    "currency": "EUR",
    "evidence_due_by": "2026-12-12T23:59:59Z",
    "sla": _SLA,
    "escalated": False,
    "escalation_reason": None,
    "recovery_attempts": [],
}
_TRIAGE_BREACH = {"clock": "triage", "due_at": "2026-12-04T08:12:40Z", "detected_at": "2026-12-04T08:15:00Z"}
TRIAGED_DISPUTE = {
    **ACKNOWLEDGED_DISPUTE,
    "sla": {**_SLA, "triaged_at": "2026-12-06T11:02:00Z", "breaches": [_TRIAGE_BREACH]},
    "escalated": True,
    "escalation_reason": "triage deadline missed",
}
DISPUTE = {**TRIAGED_DISPUTE, "recovery_attempts": [ATTEMPT]}
DISPUTES = {"items": [DISPUTE], "next_cursor": None}

# --- notifications ------------------------------------------------------------------------------------------------

NOTIFICATION = {
    "notification_id": NOTIFICATION_ID,
    "event_type": "payment_succeeded",
    "title": "Support confirmed",
    "text": "Your payment of 89.00 EUR went through.",
    "data": {"support_id": SUPPORT_ID, "project_id": PROJECT_ID, "amount_minor": 8900, "currency": "EUR"},
    "created_at": "2026-12-06T10:04:42Z",
    "read_at": None,
}
READ_NOTIFICATION = {**NOTIFICATION, "read_at": "2026-12-06T10:06:03Z"}
_OLDER_NOTIFICATION = {
    "notification_id": OLDER_NOTIFICATION_ID,
    "event_type": "campaign_update",
    "title": "New update",
    "text": UPDATE["title"],
    "data": {"project_id": PROJECT_ID, "update_id": UPDATE_ID, "title": UPDATE["title"]},
    "created_at": "2026-12-06T09:00:01Z",
    "read_at": "2026-12-06T09:12:44Z",
}
INBOX = {
    "items": [NOTIFICATION, _OLDER_NOTIFICATION],
    "next_cursor": cursor("2026-12-06T09:00:01Z", OLDER_NOTIFICATION_ID),
}
CONTACT_UPDATE = {"email": "ana@example.com", "push_token": APNS_DEVICE_HEX}
CONTACT = {"user_id": SUPPORTER_ID, **CONTACT_UPDATE}
APP_STORE_BUILD = {"environment": "production", "bundle_id": "dev.patronage.app", "app_version": "1.4.0"}
DEVICE = {
    "token": APNS_DEVICE_HEX,
    **APP_STORE_BUILD,
    "created_at": "2026-11-02T18:40:09Z",
    "updated_at": "2026-12-06T07:58:31Z",
}


def _queue(channel: str, backlog: int, due: int, oldest: float | None, dead: int, delivered: int) -> dict[str, Any]:
    counts = {"backlog": backlog, "due": due, "oldest_age_seconds": oldest, "in_flight": min(due, 1)}
    return {"channel": channel, **counts, "dead": dead, "delivered": delivered}


QUEUES = {
    "queues": [
        _queue("push", 3, 1, 41.2, 0, 1822),
        _queue("in_app", 0, 0, None, 0, 2410),
        _queue("email", 2, 0, 95.0, 1, 977),
        _queue("ops", 0, 0, None, 0, 64),
    ]
}

# --- moderation -----------------------------------------------------------------------------------------------------

REPORT_CREATE = {"reason": "fraud", "details": "The same device is sold on a marketplace for 40 EUR."}
REPORT_CREATED = {"report_id": REPORT_ID, "weight": 0.5, "review_triggered": True}
REVIEW = {
    "review_id": REVIEW_ID,
    "project_id": PROJECT_ID,
    "status": "open",
    "trigger": "fraud_weight",
    "trigger_inputs": {
        "weight_sum": 1.5,
        "fraud_weight_sum": 1.5,
        "weight_threshold": 3.0,
        "fraud_weight_threshold": 1.5,
        "window_days": 7,
        "window_start": "2026-11-29T13:20:00Z",
        "report_ids": [EARLIER_REPORT_ID, REPORT_ID],
    },
    "created_at": "2026-12-06T13:20:00Z",
    "decided_at": None,
    "decided_by": None,
    "outcome": None,
}
_REPORT = {"reason": "fraud", "report_date": "2026-12-06", "review_id": REVIEW_ID}
MODERATION = {
    "project_id": PROJECT_ID,
    "reports": [
        {
            "report_id": EARLIER_REPORT_ID,
            "reporter_id": SUPPORTER_ID,
            **_REPORT,
            "details": "The photos are renders of another product.",
            "weight": 1.0,
            "created_at": "2026-12-06T08:41:27Z",
        },
        {
            "report_id": REPORT_ID,
            "reporter_id": REPORTER_ID,
            **_REPORT,
            "details": REPORT_CREATE["details"],
            "weight": 0.5,
            "created_at": "2026-12-06T13:20:00Z",
        },
    ],
    "open_review": REVIEW,
    "past_reviews": [],
}
DECIDED_REVIEW = {
    **REVIEW,
    "status": "upheld",
    "decided_at": "2026-12-06T15:45:10Z",
    "decided_by": OPS_ID,
    "outcome": "upheld",
}

# --- events -----------------------------------------------------------------------------------------------------


def _app_event(event_id: str, name: str, at: str, properties: dict[str, Any]) -> dict[str, Any]:
    """A client event of event-contract-v1, as the iOS app sends it."""
    return {
        "event_id": event_id,
        "event_name": name,
        "schema_version": "1.0",
        "occurred_at": at,
        "sent_at": "2026-12-06T10:03:58.120Z",
        "platform": "ios",
        "app_version": "1.4.0",
        "user_id": SUPPORTER_ID,
        "anonymous_id": None,
        "session_id": "sess-5c1e9a7d-42b0",
        "project_id": PROJECT_ID,
        "properties": properties,
        "context": {"device": "iPhone16,1", "os_version": "26.1", "locale": "pt-PT", "network": "wifi"},
    }


EVENT_BATCH = {
    "events": [
        _app_event(
            "a051255f-2227-4bc9-89ac-2805e1232a5a", "project_view", "2026-12-06T10:03:40.512Z", {"source": "feed"}
        ),
        _app_event(
            "a94c48df-19aa-4afb-abce-6378b1d896ea", "support_cta_tap", "2026-12-06T10:03:57.004Z", {"tier_id": TIER_ID}
        ),
    ]
}

# --- uploads -------------------------------------------------------------------------------------------------------

UPLOAD_METADATA = tus_metadata(filename="field-recorder-pitch.mp4", content_type="video/mp4", sha256=VIDEO_SHA256)
CHUNK_CHECKSUM = "sha256 bIf2g3GyiVRwfruSr+58z/t0xvceyP6oqYz2EEKJWFs="
# A PATCH body is raw bytes; the document can only stand in for the 50 MiB the example appends.
SECOND_CHUNK = f"(the file's bytes {CHUNK_BYTES:,} to {2 * CHUNK_BYTES - 1:,}, sent as they are)"
UPLOAD = {
    "upload_id": UPLOAD_ID,
    "state": "created",
    "offset": 0,
    "size": VIDEO_BYTES,
    "sha256": VIDEO_SHA256,
    "failure_reason": None,
    "retryable": False,
    "expires_at": "2026-11-20T16:02:11Z",
    "project_id": None,
    "filename": "field-recorder-pitch.mp4",
    "content_type": "video/mp4",
    "media": None,
    "deduplicated_from": None,
}
UPLOADING_UPLOAD = {**UPLOAD, "state": "uploading", "offset": 4 * CHUNK_BYTES, "expires_at": "2026-11-21T16:09:47Z"}
PROCESSING_UPLOAD = {**UPLOAD, "state": "processing", "offset": VIDEO_BYTES, "expires_at": None}
READY_UPLOAD = {
    **PROCESSING_UPLOAD,
    "state": "ready",
    "media": {
        "size_bytes": VIDEO_BYTES,
        "content_type": "video/mp4",
        "container": "iso_bmff",
        "brand": "isom",
        "duration_seconds": 94.208,
    },
}
