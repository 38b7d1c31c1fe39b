"""Who hears about what, on which channel (api.md, "Notifications"): the whole matrix on one screen."""

from __future__ import annotations

from typing import Literal

Channel = Literal["push", "in_app", "email", "ops"]
Audience = Literal["supporter", "creator", "ops"]
NotificationType = Literal[
    "payment_succeeded",
    "payment_failed",
    "refund_issued",
    "campaign_update",
    "dispute_opened",
    "dispute_sla_breach",
    "payout_released",
    "payout_failed",
    "upload_ready",
    "upload_failed",
    "moderation_review_triggered",
    "dead_letter_alert",
]

MATRIX: dict[NotificationType, dict[Audience, tuple[Channel, ...]]] = {
    "payment_succeeded": {"supporter": ("push", "in_app", "email"), "creator": ("in_app",)},
    "payment_failed": {"supporter": ("push", "in_app")},
    "refund_issued": {"supporter": ("push", "in_app", "email"), "creator": ("in_app",)},
    "campaign_update": {"supporter": ("push", "in_app")},
    "dispute_opened": {"creator": ("email",), "ops": ("ops",)},
    "dispute_sla_breach": {"ops": ("ops",)},
    "payout_released": {"creator": ("in_app", "email")},
    "payout_failed": {"creator": ("email",), "ops": ("ops",)},
    "upload_ready": {"creator": ("push", "in_app")},
    "upload_failed": {"creator": ("push", "in_app")},
    "moderation_review_triggered": {"ops": ("ops",)},
    # events.md "Alerting": the ingestion's dead-letter check, queued by the pipeline (not in api.md's matrix).
    "dead_letter_alert": {"ops": ("ops",)},
}

# Retries: 30 s x 2^attempt after each failed attempt; the sixth failure makes the delivery `dead`.
BACKOFF_BASE_SECONDS = 30
MAX_ATTEMPTS = 6
