"""A test clock for the local Stripe emulator, as Stripe's test clocks move a customer's time: `POST
/_config/clock` with `{"offset_seconds": -86400}` makes every object and event created from then on carry a time
that much earlier (`created`, balance transactions' `available_on`), until it is set back to 0. The demo uses it to
spread its payments over the days it simulates.

Webhooks are signed with the time they are sent, as Stripe signs them (localstripe signs with the event's
`created`, which an endpoint would refuse as a replay once the clock is moved back).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from types import ModuleType
from typing import Any

import aiohttp
import localstripe.resources as resources
import localstripe.webhooks as webhooks
from aiohttp import web

log = logging.getLogger(__name__)


class ProviderClock(ModuleType):
    """What localstripe's resources see as the `time` module: the real one, shifted by `offset` seconds."""

    def __init__(self) -> None:
        super().__init__("time")
        self.offset = 0.0

    def time(self) -> float:
        return time.time() + self.offset

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


CLOCK = ProviderClock()


async def _send_webhook(event: Any) -> None:
    """localstripe's delivery (a second later, to every matching endpoint), signed with the sending time."""
    payload = json.dumps(event._export(), indent=2, sort_keys=True).encode("utf-8")
    await asyncio.sleep(1)
    for webhook in list(webhooks._webhooks.values()):
        if webhook.events is not None and event.type not in webhook.events:
            continue
        sent = int(time.time())
        signature = hmac.new(webhook.secret.encode("utf-8"), b"%d.%s" % (sent, payload), hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/json; charset=utf-8", "Stripe-Signature": f"t={sent},v1={signature}"}
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.post(webhook.url, data=payload, headers=headers) as r,
            ):
                log.info("webhook %s answered %d", event.type, r.status)
        except aiohttp.ClientError as exc:
            log.info("webhook %s failed: %s", event.type, exc)


async def set_clock(request: web.Request) -> web.Response:
    body = await request.json()
    offset = body.get("offset_seconds") if isinstance(body, dict) else None
    if not isinstance(offset, int | float) or offset > 0:
        return web.json_response({"error": {"message": "offset_seconds: a number of seconds, 0 or less"}}, status=400)
    CLOCK.offset = float(offset)
    return web.json_response({"offset_seconds": CLOCK.offset, "now": int(CLOCK.time())})


def install(app: web.Application) -> None:
    """The clock under localstripe's objects, its webhooks signed with the sending time, and the control route."""
    if resources.time is CLOCK:
        return
    resources.time = CLOCK
    webhooks._send_webhook = _send_webhook
    app.router.add_route("POST", "/_config/clock", set_clock)
