"""How a delivery leaves the building, per channel: one small interface, a real transport and a dev sink each.

`push` goes to APNs (HTTP/2, token auth, `PATRONAGE_APNS_*`) on every registered device of the
recipient; `email` speaks SMTP to `PATRONAGE_SMTP_URL`; `ops` posts to `PATRONAGE_OPS_WEBHOOK_URL`.
Unset, each is a dev sink: JSON lines under `$PATRONAGE_DATA_DIR/outbox/`. Every message carries the
delivery id (`apns-id`, `Message-ID`, `Idempotency-Key`), so a recipient can drop the duplicate that
at-least-once delivery may send after a crash.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib
import httpx
from aioapns import APNs, NotificationRequest, PushType
from aioapns.common import NotificationResult
from aioapns.connection import APNsTLSClientProtocol
from aioapns.exceptions import ConnectionClosed, MaxAttemptsExceeded
from aioapns.exceptions import ConnectionError as ApnsConnectionError

from api.notifications.matrix import Channel
from api.notifications.messages import render
from api.settings import ApnsSettings, Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PushDevice:
    """A device of the recipient that has no final APNs answer for this delivery yet."""

    device_id: uuid.UUID
    token: str
    environment: str  # production | development: which APNs server knows the token


@dataclass(frozen=True)
class Receipt:
    """APNs's final answer for one device: that device is not sent this delivery again; `gone` ones are removed."""

    device_id: uuid.UUID
    status: int
    reason: str | None = None
    gone: bool = False  # 410, or 400 BadDeviceToken: the token no longer names an install of the app
    gone_since: datetime | None = None  # APNs's 410 timestamp: a registration after it keeps the device


@dataclass(frozen=True)
class Outgoing:
    delivery_id: uuid.UUID
    channel: Channel
    event_type: str
    payload: dict[str, Any]
    recipient_id: uuid.UUID | None
    email: str | None
    push_token: str | None
    devices: tuple[PushDevice, ...] = ()  # push: the recipient's devices still to reach
    pushed: int = 0  # push: devices that accepted this delivery in an earlier attempt

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
    """The channel refused or could not be reached; `permanent` failures are not retried.

    `receipts` are the final answers some devices gave before the failure (recorded all the same).
    """

    def __init__(self, message: str, *, permanent: bool = False, receipts: tuple[Receipt, ...] = ()) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.receipts = receipts


class Transport(Protocol):
    async def send(self, message: Outgoing) -> tuple[Receipt, ...] | None: ...

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
            devices = [device.token for device in message.devices]
            out.write(
                json.dumps(
                    {**message.document(), "email": message.email, "push_token": message.push_token, "devices": devices}
                )
            )
            out.write("\n")

    async def close(self) -> None:
        return None


def message_id(delivery_id: uuid.UUID) -> str:
    """The e-mail's Message-ID: the delivery id itself, so a retry after a crash carries the same one and the
    receiving side (or the reader's client) can drop it as a duplicate."""
    return f"<{delivery_id}@patronage.local>"


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
        mail["Message-ID"] = message_id(message.delivery_id)
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


# --- push through APNs -------------------------------------------------------------------------

PUSH_TTL = timedelta(days=1)  # apns-expiration: APNs keeps a push for an offline device this long
PUSH_PRIORITY = {"campaign_update": 5}  # apns-priority: 10 (at once) unless the news can wait for the device
# apns-collapse-id: a newer notification about the same support (or upload) replaces the older one on the
# device, so the lock screen shows that support's latest state ("refund issued" over "support confirmed").
COLLAPSE_BY = {
    "payment_succeeded": "support_id",
    "payment_failed": "support_id",
    "refund_issued": "support_id",
    "upload_ready": "upload_id",
    "upload_failed": "upload_id",
}
MAX_PAYLOAD_BYTES = 4096  # APNs refuses larger alert payloads (413)
_TRANSIENT = (TimeoutError, OSError, ApnsConnectionError, ConnectionClosed, MaxAttemptsExceeded)


def collapse_id(event_type: str, payload: dict[str, Any]) -> str | None:
    """`support:<support_id>` or `upload:<upload_id>` (at most 64 bytes, as APNs requires), else none."""
    key = COLLAPSE_BY.get(event_type)
    value = payload.get(key) if key else None
    return f"{key.removesuffix('_id')}:{value}"[:64] if key and isinstance(value, str) and value else None


def apns_payload(message: Outgoing) -> dict[str, Any]:
    """The alert (`aps`) and our data: the delivery id, the event type and the event's payload."""
    title, text = render(message.event_type, message.payload)
    aps: dict[str, Any] = {"alert": {"title": title, "body": text}, "sound": "default"}
    if isinstance(project := message.payload.get("project_id"), str):
        aps["thread-id"] = f"project:{project}"  # the device groups a project's notifications
    body = {"aps": aps, "delivery_id": str(message.delivery_id), "event_type": message.event_type}
    full = {**body, "data": message.payload}
    if len(json.dumps(full, ensure_ascii=False).encode()) <= MAX_PAYLOAD_BYTES:
        return full
    # Too large (a long campaign update title): the ids stay, the app fetches the rest; the text is cut.
    ids = {k: v for k, v in message.payload.items() if k == "type" or k.endswith("_id")}
    aps["alert"] = {"title": title[:120], "body": text[:1000]}
    return {**body, "data": ids}


def _suffix(device: PushDevice) -> str:
    return f"device ...{device.token[-8:]}"


class ApnsPush:
    """Push through APNs (aioapns: HTTP/2, ES256 provider tokens), to every device of the recipient.

    One client per APNs environment (a device's token is known to the server of the environment its app
    build registered for), made on first use inside the worker's event loop. `apns-id` is the delivery id
    on every device; APNs does not deduplicate it, so each device's final answer is recorded (`Receipt`)
    and a retry goes only to the devices still without one. A delivery's devices are sent one after the
    other: aioapns matches answers by `apns-id`, which they share.
    """

    def __init__(
        self,
        settings: ApnsSettings,
        *,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 10,
        budget: float = 40,  # seconds for all of a delivery's devices: well inside the worker's 60 s lease
    ) -> None:
        self.settings = settings
        self.ssl_context = ssl_context
        self.timeout = timeout
        self.budget = budget
        self.clients: dict[str, APNs] = {}

    def client(self, environment: str) -> APNs:
        if (client := self.clients.get(environment)) is None:
            context = self.ssl_context or ssl.create_default_context()
            context.set_alpn_protocols(["h2"])
            client = APNs(
                key=self.settings.key,
                key_id=self.settings.key_id,
                team_id=self.settings.team_id,
                topic=self.settings.topic,
                use_sandbox=environment == "development",
                ssl_context=context,
                max_connection_attempts=2,  # one reconnect (APNs closes idle connections); the queue retries later
                err_func=_answered,
            )
            if self.settings.url:
                parts = urlsplit(self.settings.url)
                client.pool.protocol_class = _server_at(parts.hostname or "localhost", parts.port or 443)
            self.clients[environment] = client
        return client

    async def send(self, message: Outgoing) -> tuple[Receipt, ...]:
        if not message.devices:
            if message.pushed:
                return ()  # every device answered in earlier attempts
            raise DeliveryFailed("no push device registered for the recipient", permanent=True)
        body, collapse = apns_payload(message), collapse_id(message.event_type, message.payload)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.budget
        receipts: list[Receipt] = []
        unreached: list[str] = []
        for device in message.devices:
            if loop.time() >= deadline:
                unreached.append(f"{_suffix(device)}: not tried within the lease")
                continue
            request = NotificationRequest(
                device_token=device.token,
                message=body,
                notification_id=str(message.delivery_id),
                time_to_live=int(PUSH_TTL.total_seconds()),
                priority=PUSH_PRIORITY.get(message.event_type, 10),
                collapse_key=collapse,
                push_type=PushType.ALERT,
            )
            try:
                result = await asyncio.wait_for(
                    self.client(device.environment).send_notification(request), self.timeout
                )
            except _TRANSIENT as exc:
                unreached.append(f"{_suffix(device)}: {type(exc).__name__} {exc}".rstrip())
                continue
            except Exception as exc:  # an unexpected failure of one device must not lose the others' answers
                log.exception("APNs send to %s crashed", _suffix(device))
                unreached.append(f"{_suffix(device)}: {type(exc).__name__}")
                continue
            receipt = _receipt(device, result)
            if receipt is None:
                unreached.append(f"{_suffix(device)}: APNs {result.status} {result.description or ''}".rstrip())
            else:
                receipts.append(receipt)
        answered = tuple(receipts)
        if unreached:
            raise DeliveryFailed(
                f"APNs: {len(unreached)} of {len(message.devices)} devices not reached: {'; '.join(unreached)}",
                receipts=answered,
            )
        if message.pushed or any(r.status == 200 for r in answered):
            return answered
        refusals = "; ".join(f"{r.status} {r.reason or ''}".rstrip() for r in answered)
        raise DeliveryFailed(f"APNs accepted it for no device: {refusals}", permanent=True, receipts=answered)

    async def close(self) -> None:
        for client in self.clients.values():
            client.pool.close()
        self.clients.clear()


def _receipt(device: PushDevice, result: NotificationResult) -> Receipt | None:
    """The final answer, or None when it is worth trying again (429, 5xx, 403 provider-token trouble)."""
    status = int(result.status) if str(result.status).isdigit() else 0
    reason = result.description
    if status == 200:
        return Receipt(device.device_id, 200)
    if status == 410 or (status == 400 and reason == "BadDeviceToken"):
        since = datetime.fromtimestamp(result.timestamp / 1000, UTC) if result.timestamp else None
        return Receipt(device.device_id, status, reason, gone=True, gone_since=since)
    if status in (0, 403, 429) or status >= 500:
        return None
    return Receipt(device.device_id, status, reason)  # a request APNs will never take for this device


async def _answered(request: NotificationRequest, result: NotificationResult) -> None:
    """aioapns logs every non-200 answer at error level unless told otherwise: `ApnsPush` judges them itself."""


def _server_at(host: str, port: int) -> type[APNsTLSClientProtocol]:
    """aioapns knows only Apple's two hosts; another server (`PATRONAGE_APNS_URL`) is its protocol's class constants."""

    class StandIn(APNsTLSClientProtocol):
        APNS_SERVER = host
        APNS_PORT = port

    return StandIn


def transports(settings: Settings) -> dict[Channel, Transport]:
    """The transport of each channel for this configuration."""
    outbox = settings.paths.data_dir / "outbox"
    smtp = settings.notifications.smtp_url
    apns = settings.notifications.apns
    return {
        "push": ApnsPush(apns) if apns else Sink(outbox / "push.jsonl"),
        "in_app": InApp(),
        "email": SmtpEmail(smtp) if smtp else Sink(outbox / "email.jsonl"),
        "ops": ops_transport(settings),
    }


def ops_transport(settings: Settings) -> Transport:
    """The `ops` channel: the webhook `PATRONAGE_OPS_WEBHOOK_URL`, else the dev sink `outbox/ops.jsonl`."""
    url = settings.notifications.ops_webhook_url
    return OpsWebhook(url) if url else Sink(settings.paths.data_dir / "outbox" / "ops.jsonl")
