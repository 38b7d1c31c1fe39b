"""Real local servers standing in for what is outside our walls: an ops webhook receiver and an SMTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class WebhookReceiver:
    """Records every POST; answers `statuses` in turn (then 204); `hang` blocks the first N requests."""

    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    hang: int = 0
    release: threading.Event = field(default_factory=threading.Event)
    got_one: threading.Event = field(default_factory=threading.Event)

    @property
    def unique(self) -> dict[str, dict[str, Any]]:
        """What a recipient deduplicating by delivery id keeps."""
        return {body["delivery_id"]: body for body in self.received}


@contextmanager
def webhook_receiver(**options: Any) -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(**options)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with lock:
                receiver.received.append(body)
                receiver.keys.append(self.headers.get("Idempotency-Key", ""))
                hang = receiver.hang > 0
                receiver.hang -= 1 if hang else 0
                status = receiver.statuses.pop(0) if receiver.statuses else 204
            receiver.got_one.set()
            if hang:
                receiver.release.wait(60)
                return  # the client is gone by now
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/ops"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.shutdown()
        server.server_close()


@dataclass
class Mailbox:
    url: str = ""
    messages: list[Message] = field(default_factory=list)


@contextmanager
def smtp_server(port: int) -> Iterator[Mailbox]:
    """A real SMTP server (aiosmtpd) on loopback; yields the mailbox it fills."""
    mailbox = Mailbox(url=f"smtp://127.0.0.1:{port}")

    class Handler:
        async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
            content = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
            mailbox.messages.append(message_from_bytes(content))
            return "250 Message accepted for delivery"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()
