"""Push through APNs, against a stand-in APNs server on loopback (HTTP/2, TLS, JWT checked with the test's key).

Every device of the recipient gets the push; a token APNs calls unregistered is removed and not tried again;
429 and 5xx are retried with the queue's back-off, and a retry goes only to the devices still without an answer.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.db.engine import Database
from api.notifications.channels import ApnsPush, DeliveryFailed, Outgoing, PushDevice, Sink, Transport, transports
from api.notifications.jobs import deliver_due
from api.notifications.matrix import Channel
from api.notifications.services import notify
from api.settings import ApnsSettings, Settings
from devtools.ports import free_port
from tests.api.notifications.apns_server import KEY_ID, TEAM_ID, TOPIC, ApnsServer, auth_key
from tests.conftest import MakeUser

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
PHONE, TABLET, OLD_PHONE = "a1" * 32, "b2" * 32, "c3" * 40


async def register(sql: asyncpg.Connection, user: uuid.UUID, token: str, environment: str = "production") -> None:
    await sql.execute(
        "insert into push_devices (device_id, device_token, user_id, environment) values ($1, $2, $3, $4)",
        uuid.uuid4(),
        token,
        user,
        environment,
    )


async def produce(db: Database, event_type: str, user: uuid.UUID, **payload: object) -> dict[str, object]:
    payload = {"support_id": str(uuid.uuid4()), "amount_minor": 2_500, "currency": "EUR", **payload}
    audience = "creator" if event_type.startswith("upload") else "supporter"
    async with db.transaction() as session:
        await notify(
            session,
            event_type,  # type: ignore[arg-type]
            dedupe_key=str(uuid.uuid4()),
            payload=payload,
            recipients={audience: [user]},  # type: ignore[dict-item]
            now=T0,
        )
    return payload


def apns_of(settings: Settings, **changes: str) -> ApnsSettings:
    assert settings.notifications.apns is not None
    return dataclasses.replace(settings.notifications.apns, **changes)


def trusting(apns: ApnsServer, settings: Settings) -> ApnsPush:
    """The APNs transport of `settings`, trusting the stand-in's CA through the context it is given."""
    return ApnsPush(apns_of(settings), ssl_context=apns.client_context())


async def push_delivery(sql: asyncpg.Connection) -> asyncpg.Record:
    return await sql.fetchrow("select * from notification_deliveries where channel = 'push'")


async def deliver(db: Database, transport: ApnsPush, tmp_path: Path, now: datetime) -> int:
    channels: dict[Channel, Transport] = {
        "push": transport,
        "in_app": Sink(tmp_path / "in_app.jsonl"),
        "email": Sink(tmp_path / "email.jsonl"),
    }
    return await deliver_due(db, channels, "w1", now)


async def test_a_push_reaches_every_device_the_app_registered_through_the_api(
    client: AsyncTestClient[Litestar],
    make_user: MakeUser,
    db: Database,
    sql: asyncpg.Connection,
    apns: ApnsServer,
    apns_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    supporter = make_user("supporter")
    for token, environment in ((PHONE.upper(), "production"), (TABLET, "development")):
        response = await client.put(
            f"/v1/me/devices/{token}", json={"environment": environment}, headers=supporter.headers
        )
        assert response.status_code == 200, response.text
    payload = await produce(db, "payment_succeeded", supporter.user_id, project_id=str(uuid.uuid4()))
    # Chosen by settings, as the worker does; the stand-in's CA is trusted the standard way (SSL_CERT_FILE).
    monkeypatch.setenv("SSL_CERT_FILE", str(apns.ca_file))
    channels = transports(apns_settings)
    assert isinstance(channels["push"], ApnsPush)
    try:
        before = time.time()
        assert await deliver_due(db, channels, "w1", T0) == 3  # push, in-app and email
    finally:
        await channels["push"].close()

    row = await push_delivery(sql)
    assert (row["status"], row["attempts"]) == ("delivered", 1)
    assert sorted(push.token for push in apns.received) == sorted([PHONE, TABLET])  # hex as APNs wants it
    for push in apns.received:
        assert push.answered == 200
        assert push.alpn == "h2"
        assert push.headers[":method"] == "POST"
        assert push.headers["apns-topic"] == TOPIC
        assert push.headers["apns-push-type"] == "alert"
        assert push.headers["apns-id"] == str(row["delivery_id"])
        assert push.headers["apns-collapse-id"] == f"support:{payload['support_id']}"
        assert push.headers["apns-priority"] == "10"
        assert before + 86_400 - 5 <= int(push.headers["apns-expiration"]) <= time.time() + 86_400 + 5
        assert (push.jwt_header["alg"], push.jwt_header["kid"], push.claims["iss"]) == ("ES256", KEY_ID, TEAM_ID)
        assert before - 5 <= push.claims["iat"] <= time.time() + 5
        assert push.body["aps"]["alert"] == {
            "title": "Support confirmed",
            "body": "Your payment of 25.00 EUR went through.",
        }
        assert push.body["aps"]["thread-id"] == f"project:{payload['project_id']}"
        assert push.body["delivery_id"] == str(row["delivery_id"])
        assert push.body["event_type"] == "payment_succeeded"
        assert push.body["data"]["support_id"] == payload["support_id"]
    receipts = await sql.fetch("select status from push_receipts where delivery_id = $1", row["delivery_id"])
    assert [r["status"] for r in receipts] == [200, 200]
    assert await deliver_due(db, channels, "w1", T0 + timedelta(days=1)) == 0  # nothing sent twice


async def test_an_unregistered_token_is_removed_and_not_tried_again(
    db: Database, sql: asyncpg.Connection, apns: ApnsServer, apns_settings: Settings, tmp_path: Path
) -> None:
    user = uuid.uuid4()
    await register(sql, user, PHONE)
    await register(sql, user, OLD_PHONE)
    apns.answer(OLD_PHONE, 410)
    transport = trusting(apns, apns_settings)
    await produce(db, "payment_failed", user)
    try:
        await deliver(db, transport, tmp_path, T0)
        # Delivered: the phone accepted it; the old phone's token is gone from the devices table.
        row = await push_delivery(sql)
        assert (row["status"], row["attempts"]) == ("delivered", 1)
        assert [r["device_token"] for r in await sql.fetch("select device_token from push_devices")] == [PHONE]
        assert [p.answered for p in apns.to(OLD_PHONE)] == [410]

        # Its only device gone (410, or 400 BadDeviceToken): that delivery is dead at once, never retried.
        for status in (410, 400):
            other = uuid.uuid4()
            token = f"{status:x}".rjust(64, "d")
            await register(sql, other, token)
            apns.answer(token, status)
            await produce(db, "refund_issued", other)
            await deliver(db, transport, tmp_path, T0)
            dead = await sql.fetchrow(
                "select status, attempts, last_error from notification_deliveries "
                "where channel = 'push' and recipient_id = $1",
                other,
            )
            assert (dead["status"], dead["attempts"]) == ("dead", 1)
            assert ("Unregistered" if status == 410 else "BadDeviceToken") in dead["last_error"]
            assert await sql.fetchval("select count(*) from push_devices where user_id = $1", other) == 0
            assert await deliver(db, transport, tmp_path, T0 + timedelta(days=1)) == 0
            assert len(apns.to(token)) == 1
    finally:
        await transport.close()


async def test_a_token_registered_again_after_the_410_stays(
    db: Database, sql: asyncpg.Connection, apns: ApnsServer, apns_settings: Settings, tmp_path: Path
) -> None:
    """Apple's 410 timestamp says since when the token is invalid: a registration after it is newer news."""
    user = uuid.uuid4()
    await register(sql, user, PHONE)
    apns.answer(PHONE, 410)
    apns.unregistered_at = time.time() - 3600  # the app registered the token again after that
    transport = trusting(apns, apns_settings)
    await produce(db, "payment_failed", user)
    try:
        await deliver(db, transport, tmp_path, T0)
    finally:
        await transport.close()
    assert await sql.fetchval("select count(*) from push_devices") == 1
    assert (await push_delivery(sql))["status"] == "dead"  # that delivery is not tried again all the same
    assert await sql.fetchval("select status from push_receipts") == 410


async def test_429_and_5xx_are_retried_with_back_off_and_only_to_the_devices_without_an_answer(
    db: Database, sql: asyncpg.Connection, apns: ApnsServer, apns_settings: Settings, tmp_path: Path
) -> None:
    user = uuid.uuid4()
    await register(sql, user, PHONE)
    await register(sql, user, TABLET)
    apns.answer(TABLET, 429, 500, 503)
    transport = trusting(apns, apns_settings)
    await produce(db, "upload_ready", user, upload_id=str(uuid.uuid4()))
    now, waits = T0, []
    try:
        for _ in range(4):
            assert await deliver(db, transport, tmp_path, now) >= 1
            row = await push_delivery(sql)
            if row["status"] != "pending":
                break
            reason = ("TooManyRequests", "InternalServerError", "ServiceUnavailable")[row["attempts"] - 1]
            assert f"{apns.to(TABLET)[-1].answered} {reason}" in row["last_error"]
            assert f"1 of {2 if row['attempts'] == 1 else 1} devices not reached" in row["last_error"]
            assert await deliver(db, transport, tmp_path, row["next_attempt_at"] - timedelta(seconds=1)) == 0
            waits.append((row["next_attempt_at"] - now).total_seconds())
            now = row["next_attempt_at"]
    finally:
        await transport.close()
    assert waits == [30, 60, 120]  # the queue's own back-off: 30 s x 2^attempt
    assert (row["status"], row["attempts"]) == ("delivered", 4)
    assert [p.answered for p in apns.to(PHONE)] == [200]  # accepted once: never sent again
    assert [p.answered for p in apns.to(TABLET)] == [429, 500, 503, 200]
    assert {p.headers["apns-id"] for p in apns.received} == {str(row["delivery_id"])}
    assert {p.headers["apns-collapse-id"] for p in apns.received} == {
        f"upload:{apns.received[0].body['data']['upload_id']}"
    }


async def test_apns_unreachable_or_refusing_our_provider_token_is_retried(
    db: Database, sql: asyncpg.Connection, apns: ApnsServer, apns_settings: Settings, tmp_path: Path
) -> None:
    user = uuid.uuid4()
    await register(sql, user, PHONE)
    await produce(db, "campaign_update", user, title="Glaze day")
    nobody = ApnsPush(apns_of(apns_settings, url=f"https://127.0.0.1:{free_port()}"))
    try:
        await deliver(db, nobody, tmp_path, T0)
    finally:
        await nobody.close()
    row = await push_delivery(sql)
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert "not reached" in row["last_error"]

    # A provider token signed with another key: APNs answers 403 (the stand-in verified the signature).
    (tmp_path / "other").mkdir()
    other_key = auth_key(tmp_path / "other")[0].read_text()
    forged = ApnsPush(apns_of(apns_settings, key=other_key), ssl_context=apns.client_context())
    try:
        await deliver(db, forged, tmp_path, row["next_attempt_at"])
    finally:
        await forged.close()
    row = await push_delivery(sql)
    assert (row["status"], row["attempts"]) == ("pending", 2)
    assert "403 InvalidProviderToken" in row["last_error"]
    assert [p.answered for p in apns.to(PHONE)] == [403]

    good = trusting(apns, apns_settings)
    try:
        await deliver(db, good, tmp_path, row["next_attempt_at"])
    finally:
        await good.close()
    assert (await push_delivery(sql))["status"] == "delivered"
    update = apns.to(PHONE)[-1]
    assert update.headers["apns-priority"] == "5"  # news can wait for the device
    assert "apns-collapse-id" not in update.headers  # each update is its own notification
    assert update.body["aps"]["alert"]["body"] == "Glaze day"


async def test_a_recipient_without_a_device_is_dead_at_once(
    db: Database, sql: asyncpg.Connection, apns: ApnsServer, apns_settings: Settings, tmp_path: Path
) -> None:
    await produce(db, "payment_failed", uuid.uuid4())
    transport = trusting(apns, apns_settings)
    await deliver(db, transport, tmp_path, T0)
    await transport.close()
    row = await push_delivery(sql)
    assert (row["status"], row["attempts"]) == ("dead", 1)
    assert "no push device registered" in row["last_error"]
    assert apns.received == []


async def test_a_push_too_large_for_apns_keeps_its_ids_and_a_shortened_text(
    apns: ApnsServer, apns_settings: Settings
) -> None:
    message = Outgoing(
        delivery_id=uuid.uuid4(),
        channel="push",
        event_type="campaign_update",
        payload={"type": "campaign_update", "project_id": str(uuid.uuid4()), "title": "é" * 5_000},
        recipient_id=uuid.uuid4(),
        email=None,
        push_token=None,
    )
    transport = trusting(apns, apns_settings)
    device = PushDevice(uuid.uuid4(), PHONE, "production")
    try:
        receipts = await transport.send(Outgoing(**{**message.__dict__, "devices": (device,)}))
    finally:
        await transport.close()
    assert [r.status for r in receipts] == [200]
    (push,) = apns.received
    assert push.body["data"] == {"type": "campaign_update", "project_id": message.payload["project_id"]}
    assert len(push.body["aps"]["alert"]["body"]) == 1000
    with pytest.raises(DeliveryFailed, match="no push device"):
        await transport.send(message)
