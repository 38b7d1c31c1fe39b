"""Real-shaped Stripe events, signed with the webhook secret, for what localstripe cannot emit.

Shapes follow Stripe's API objects (PaymentIntent, Charge, Dispute) with only the fields our
handlers read plus the envelope; signatures use Stripe's scheme (`t=…,v1=HMAC-SHA256(t.payload)`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from typing import Any

from tests.conftest import WEBHOOK_SECRET


def sign(payload: bytes, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def event(event_type: str, obj: dict[str, Any], *, event_id: str | None = None, created: int | None = None) -> bytes:
    return json.dumps(
        {
            "id": event_id or "evt_" + secrets.token_hex(12),
            "object": "event",
            "api_version": "2026-10-28",
            "created": int(time.time()) if created is None else created,
            "livemode": False,
            "type": event_type,
            "data": {"object": obj},
        }
    ).encode()


def payment_intent(
    pi: str,
    amount: int,
    currency: str,
    support_id: str,
    *,
    status: str = "succeeded",
    charge: str | None = None,
    error_code: str | None = None,
) -> dict[str, Any]:
    return {
        "id": pi,
        "object": "payment_intent",
        "amount": amount,
        "amount_received": amount if status == "succeeded" else 0,
        "currency": currency.lower(),
        "metadata": {"support_id": support_id},
        "status": status,
        "latest_charge": charge,
        "last_payment_error": {"code": error_code, "decline_code": error_code} if error_code else None,
    }


def charge(
    ch: str, pi: str, amount: int, currency: str, *, refunded: int = 0, refund_id: str | None = None
) -> dict[str, Any]:
    return {
        "id": ch,
        "object": "charge",
        "amount": amount,
        "amount_refunded": refunded,
        "currency": currency.lower(),
        "payment_intent": pi,
        "refunded": refunded >= amount,
        "created": int(time.time()) - 60,
        "metadata": {},
        "refunds": {
            "object": "list",
            "data": [{"id": refund_id, "object": "refund", "amount": refunded}] if refund_id else [],
        },
    }


def dispute(
    dp: str,
    ch: str,
    pi: str,
    amount: int,
    currency: str,
    *,
    status: str = "needs_response",
    created: int | None = None,
    due_by: int | None = None,
    balance_transactions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    now = int(time.time())
    return {
        "id": dp,
        "object": "dispute",
        "amount": amount,
        "currency": currency.lower(),
        "charge": ch,
        "payment_intent": pi,
        "reason": "fraudulent",
        "status": status,
        "created": created or now - 30,
        "evidence_details": {"due_by": due_by or now + 7 * 86400, "has_evidence": False},
        "balance_transactions": balance_transactions or [],
    }


def balance_transaction(
    txn: str, source: str, amount: int, currency: str, *, category: str, fee: int = 0, created: int | None = None
) -> dict[str, Any]:
    """A BalanceTransaction as Stripe embeds it (a dispute's `balance_transactions`) or lists it."""
    at = int(time.time()) if created is None else created
    return {
        "id": txn,
        "object": "balance_transaction",
        "amount": amount,
        "available_on": at,
        "created": at,
        "currency": currency.lower(),
        "description": None,
        "fee": fee,
        "fee_details": [
            {
                "amount": fee,
                "application": None,
                "currency": currency.lower(),
                "description": "Dispute fee",
                "type": "stripe_fee",
            }
        ]
        if fee
        else [],
        "net": amount - fee,
        "reporting_category": category,
        "source": source,
        "status": "available",
        "type": "adjustment",
    }
