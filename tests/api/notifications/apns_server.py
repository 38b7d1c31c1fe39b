"""A stand-in for APNs on loopback: HTTP/2 over TLS (the `h2` library), checking a push the way Apple does.

It verifies the provider token (ES256 JWT with `kid` and `iss`, against the public half of a key the test
made), the `apns-*` headers and the JSON body, records every push, and answers each device token with the
statuses a test queues for it (then 200), with Apple's JSON `reason` (and `timestamp` for 410).
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import re
import ssl
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import DataReceived, RequestReceived, StreamEnded
from h2.exceptions import ProtocolError

from tests.conftest import JWT_SECRET

KEY_ID = "ABC123DEFG"
TEAM_ID = "TEAM123456"
TOPIC = "dev.patronage.app"
REASONS = {
    400: "BadDeviceToken",
    403: "InvalidProviderToken",
    410: "Unregistered",
    429: "TooManyRequests",
    500: "InternalServerError",
    503: "ServiceUnavailable",
}
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def auth_key(directory: Path) -> tuple[Path, ec.EllipticCurvePublicKey]:
    """A new APNs-style auth key: EC P-256 in a PKCS#8 PEM `.p8` file, and its public half."""
    key = ec.generate_private_key(ec.SECP256R1())
    path = directory / f"AuthKey_{KEY_ID}.p8"
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return path, key.public_key()


def certificate_authority(directory: Path) -> tuple[Path, Path, Path]:
    """(CA certificate, server certificate for 127.0.0.1, server key) as PEM files, made now."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Patronage test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )  # digital signature, cert sign, CRL sign
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.IPv4Address("127.0.0.1"))]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


def apns_env(tmp_path: Path, key_path: Path, url: str) -> dict[str, str]:
    """The environment an operator sets to push through APNs (here: at the stand-in)."""
    return {
        "PATRONAGE_ENV": "test",
        "PATRONAGE_DATA_DIR": str(tmp_path / "data"),
        "PATRONAGE_JWT_SECRET": JWT_SECRET,
        "PATRONAGE_APNS_KEY_PATH": str(key_path),
        "PATRONAGE_APNS_KEY_ID": KEY_ID,
        "PATRONAGE_APNS_TEAM_ID": TEAM_ID,
        "PATRONAGE_APNS_TOPIC": TOPIC,
        "PATRONAGE_APNS_URL": url,
    }


@dataclass
class Push:
    """One request as the stand-in received it, with the provider token decoded (already verified)."""

    token: str
    headers: dict[str, str]
    body: dict[str, Any]
    jwt_header: dict[str, Any]
    claims: dict[str, Any]
    alpn: str | None
    answered: int


@dataclass
class ApnsServer:
    public_key: ec.EllipticCurvePublicKey
    ca_file: Path
    url: str = ""
    received: list[Push] = field(default_factory=list)
    queued: dict[str, list[int]] = field(default_factory=dict)
    unregistered_at: float | None = None  # the 410 timestamp (seconds); None: now
    connections: list[asyncio.Transport] = field(default_factory=list)

    def answer(self, token: str, *statuses: int) -> None:
        """Answer `token`'s next pushes with `statuses` in turn, then 200."""
        self.queued.setdefault(token, []).extend(statuses)

    def to(self, token: str) -> list[Push]:
        return [push for push in self.received if push.token == token]

    def client_context(self) -> ssl.SSLContext:
        """What a client that trusts this stand-in's CA uses (APNs's own CA stands here)."""
        return ssl.create_default_context(cafile=str(self.ca_file))

    def handle(self, headers: dict[str, str], raw: bytes, alpn: str | None) -> tuple[int, dict[str, Any]]:
        """Apple's checks in Apple's order of concern; the first that fails is the answer."""
        token = headers.get(":path", "").removeprefix("/3/device/")
        jwt_header: dict[str, Any] = {}
        claims: dict[str, Any] = {}
        status = 200
        try:
            scheme, _, provider_token = headers.get("authorization", "").partition(" ")
            jwt_header = jwt.get_unverified_header(provider_token)
            claims = jwt.decode(provider_token, self.public_key, algorithms=["ES256"], options={"require": ["iat"]})
            if scheme.lower() != "bearer" or jwt_header.get("kid") != KEY_ID or claims.get("iss") != TEAM_ID:
                status = 403
            elif not time.time() - 3600 < claims["iat"] <= time.time() + 60:
                status = 403  # ExpiredProviderToken, to Apple
        except jwt.PyJWTError:
            status = 403
        try:
            body = json.loads(raw)
        except ValueError:
            body = {}
        if status == 200 and (
            headers.get(":method") != "POST"
            or headers.get("apns-topic") != TOPIC
            or headers.get("apns-push-type") != "alert"
            or not _UUID.fullmatch(headers.get("apns-id", ""))
            or not isinstance(body.get("aps"), dict)
            or len(raw) > 4096
        ):
            status = 400
        if status == 200 and self.queued.get(token):
            status = self.queued[token].pop(0)
        self.received.append(Push(token, headers, body, jwt_header, claims, alpn, status))
        if status == 200:
            return 200, {}
        reason = REASONS.get(status, "BadRequest")
        if status == 400 and headers.get("apns-topic") != TOPIC:
            reason = "DeviceTokenNotForTopic"
        extra: dict[str, Any] = {"reason": reason}
        if status == 410:
            extra["timestamp"] = int((self.unregistered_at or time.time()) * 1000)
        return status, extra


class _Connection(asyncio.Protocol):
    def __init__(self, server: ApnsServer) -> None:
        self.server = server
        self.conn = H2Connection(H2Configuration(client_side=False, header_encoding="utf-8"))
        self.streams: dict[int, tuple[dict[str, str], bytearray]] = {}
        self.alpn: str | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.server.connections.append(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        self.alpn = ssl_object.selected_alpn_protocol() if ssl_object else None
        self.conn.initiate_connection()
        transport.write(self.conn.data_to_send())

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        try:
            events = self.conn.receive_data(data)
        except ProtocolError:
            self.transport.close()
            return
        for event in events:
            if isinstance(event, RequestReceived) and event.stream_id is not None:
                headers = {str(k): str(v) for k, v in event.headers or ()}
                self.streams[event.stream_id] = (headers, bytearray())
            elif isinstance(event, DataReceived) and event.stream_id is not None:
                self.streams[event.stream_id][1].extend(event.data or b"")
                self.conn.acknowledge_received_data(event.flow_controlled_length or 0, event.stream_id)
            elif isinstance(event, StreamEnded) and event.stream_id is not None:
                self.respond(event.stream_id)
        self.transport.write(self.conn.data_to_send())

    def respond(self, stream_id: int) -> None:
        headers, raw = self.streams.pop(stream_id)
        status, error = self.server.handle(headers, bytes(raw), self.alpn)
        answer = [(":status", str(status)), ("apns-id", headers.get("apns-id", ""))]
        if status == 200:
            self.conn.send_headers(stream_id, answer, end_stream=True)
            return
        payload = json.dumps(error).encode()
        self.conn.send_headers(
            stream_id, [*answer, ("content-type", "application/json"), ("content-length", str(len(payload)))]
        )
        self.conn.send_data(stream_id, payload, end_stream=True)


@asynccontextmanager
async def apns_server(directory: Path, public_key: ec.EllipticCurvePublicKey) -> AsyncIterator[ApnsServer]:
    """Serves on a loopback port over TLS 1.2+ with ALPN `h2`, certified by a CA made for the test."""
    ca, certificate, key = certificate_authority(directory)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    context.set_alpn_protocols(["h2"])
    server = ApnsServer(public_key=public_key, ca_file=ca)
    listening = await asyncio.get_running_loop().create_server(lambda: _Connection(server), "127.0.0.1", 0, ssl=context)
    server.url = f"https://127.0.0.1:{listening.sockets[0].getsockname()[1]}"
    try:
        yield server
    finally:
        listening.close()
        for transport in server.connections:
            transport.close()
        await listening.wait_closed()
