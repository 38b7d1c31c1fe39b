"""How a delivery leaves the building, per channel: one small interface, a real transport and a dev sink each.

`push` has the APNs adapter's interface but only the dev sink here (APNs is outside our walls);
`email` speaks SMTP to `PATRONAGE_SMTP_URL`; `ops` posts to `PATRONAGE_OPS_WEBHOOK_URL`. Unset URLs
mean dev sinks: JSON lines under `$PATRONAGE_DATA_DIR/outbox/`. Every message carries the delivery
id, so a recipient can drop the duplicate that at-least-once delivery may send after a crash.
"""

from __future__ import annotations

import json
import ssl
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib
import httpx

from api.notifications.matrix import Channel
from api.notifications.messages import render
from api.settings import Settings


@dataclass(frozen=True)
class Outgoing:
    delivery_id: uuid.UUID
    channel: Channel
    event_type: str
    payload: dict[str, Any]
    recipient_id: uuid.UUID | None
    email: str | None
    push_token: str | None

    def document(self) -> dict[str, Any]:
        title, text = render(self.event_type, self.payload)
        return {
            "delivery_id": str(self.delivery_id),
            "channel": self.channel,
            "event_type": self.event_type,
            "recipient_id": str(self.recipient_id) if self.recipient_id else None,
            "title": title,
            "text": text,
            "data": self.payload,
        }


class DeliveryFailed(Exception):
    """The channel refused or could not be reached; `permanent` failures are not retried."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Transport(Protocol):
    async def send(self, message: Outgoing) -> None: ...

    async def close(self) -> None: ...


class InApp:
    """The delivery row is the inbox entry (`GET /v1/me/notifications`): nothing leaves."""

    async def send(self, message: Outgoing) -> None:
        return None

    async def close(self) -> None:
        return None


class Sink:
    """Dev sink: appends each message as a JSON line to a file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def send(self, message: Outgoing) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as out:
            out.write(json.dumps({**message.document(), "email": message.email, "push_token": message.push_token}))
            out.write("\n")

    async def close(self) -> None:
        return None


class SmtpEmail:
    """Email over SMTP (`smtp://user:pass@host:port`, `smtps://` for implicit TLS; STARTTLS when offered)."""

    def __init__(self, url: str, sender: str = "Patronage <notifications@patronage.local>") -> None:
        parts = urlsplit(url)
        self.hostname = parts.hostname or "localhost"
        self.implicit_tls = parts.scheme == "smtps"
        self.port = parts.port or (465 if self.implicit_tls else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.sender = sender

    async def send(self, message: Outgoing) -> None:
        if not message.email:
            raise DeliveryFailed("no email address registered for the recipient", permanent=True)
        doc = message.document()
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.email
        mail["Subject"] = doc["title"]
        mail["Message-ID"] = make_msgid(idstring=str(message.delivery_id), domain="patronage.local")
        mail["X-Patronage-Delivery-Id"] = str(message.delivery_id)
        mail.set_content(doc["text"] + "\n")
        try:
            await aiosmtplib.send(
                mail,
                hostname=self.hostname,
                port=self.port,
                username=self.username,
                password=self.password,
                use_tls=self.implicit_tls,
                start_tls=None,  # upgrade when the server offers it
                tls_context=ssl.create_default_context() if self.implicit_tls else None,
                timeout=15,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise DeliveryFailed(f"recipient refused: {exc}", permanent=True) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"SMTP: {type(exc).__name__}: {exc}") from exc

    async def close(self) -> None:
        return None


class OpsWebhook:
    """Ops alerts as JSON posts; `Idempotency-Key` is the delivery id."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client = httpx.AsyncClient(timeout=15)

    async def send(self, message: Outgoing) -> None:
        try:
            response = await self.client.post(
                self.url, json=message.document(), headers={"Idempotency-Key": str(message.delivery_id)}
            )
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"ops webhook: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 300:
            raise DeliveryFailed(f"ops webhook answered {response.status_code}")

    async def close(self) -> None:
        await self.client.aclose()


def transports(settings: Settings) -> dict[Channel, Transport]:
    """The transport of each channel for this configuration."""
    outbox = settings.paths.data_dir / "outbox"
    smtp = settings.notifications.smtp_url
    return {
        "push": Sink(outbox / "push.jsonl"),
        "in_app": InApp(),
        "email": SmtpEmail(smtp) if smtp else Sink(outbox / "email.jsonl"),
        "ops": ops_transport(settings),
    }


def ops_transport(settings: Settings) -> Transport:
    """The `ops` channel: the webhook `PATRONAGE_OPS_WEBHOOK_URL`, else the dev sink `outbox/ops.jsonl`."""
    url = settings.notifications.ops_webhook_url
    return OpsWebhook(url) if url else Sink(settings.paths.data_dir / "outbox" / "ops.jsonl")
