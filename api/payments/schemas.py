"""Shapes of the webhook route."""

from __future__ import annotations

import msgspec


class WebhookReceipt(msgspec.Struct, omit_defaults=True):
    received: bool
    duplicate: bool
    outcome: str | None = None
