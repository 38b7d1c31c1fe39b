"""What each notification says: a title and one line of text per type, from the event's payload."""

from __future__ import annotations

from typing import Any


def _money(payload: dict[str, Any]) -> str:
    amount, currency = payload.get("amount_minor"), payload.get("currency")
    return f"{amount / 100:.2f} {currency}" if isinstance(amount, int) and currency else "your support"


TEMPLATES: dict[str, tuple[str, str]] = {
    "payment_succeeded": ("Support confirmed", "Your payment of {money} went through."),
    "payment_failed": ("Payment failed", "Your payment could not be completed; you can try again."),
    "refund_issued": ("Refund issued", "{money} is on its way back to you."),
    "campaign_update": ("New update", "{title}"),
    "dispute_opened": ("Dispute opened", "A supporter disputed a payment of {money}."),
    "dispute_sla_breach": ("Dispute SLA breached", "Dispute {dispute_id}: the {clock} deadline passed."),
    "payout_released": ("Payout on its way", "A payout of {money} was released."),
    "payout_failed": ("Payout failed", "The payout {payout_id} failed: {failure_code}."),
    "upload_ready": ("Video ready", "Your video {upload_id} is ready."),
    "upload_failed": ("Video upload failed", "Your video {upload_id} failed: {failure_reason}."),
    "moderation_review_triggered": ("Moderation review", "Project {project_id} needs a review."),
    "dead_letter_alert": (
        "Events dead-lettered",
        "{summary}. Top reasons: {reasons}. Example dead letter: {example_dead_letter_id}.",
    ),
}


def _reasons(payload: dict[str, Any]) -> str:
    top = payload.get("top_reasons")
    if not isinstance(top, list):
        return "?"
    return ", ".join(f"{r.get('reason_code')} ({r.get('count')})" for r in top if isinstance(r, dict)) or "?"


class _Missing(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


def render(event_type: str, payload: dict[str, Any]) -> tuple[str, str]:
    title, text = TEMPLATES.get(event_type, (event_type.replace("_", " ").capitalize(), ""))
    return title, text.format_map(_Missing(payload, money=_money(payload), reasons=_reasons(payload)))
