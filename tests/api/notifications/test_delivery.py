"""Delivery by the worker's step: real SMTP and webhook receivers, retries with backoff, leases."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from api.db.engine import Database
from api.notifications import repositories as repo
from api.notifications.channels import InApp, OpsWebhook, Sink, SmtpEmail, Transport
from api.notifications.jobs import deliver_due, outgoing
from api.notifications.matrix import Channel
from api.notifications.services import notify
from devtools.ports import free_port
from tests.receivers import smtp_server, webhook_receiver

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def sinks(tmp_path: Path, **overrides: Transport) -> dict[Channel, Transport]:
    channels: dict[Channel, Transport] = {
        "push": Sink(tmp_path / "push.jsonl"),
        "in_app": InApp(),
        "email": Sink(tmp_path / "email.jsonl"),
        "ops": Sink(tmp_path / "ops.jsonl"),
    }
    channels.update(overrides)  # type: ignore[arg-type]
    return channels


async def produce(
    db: Database, event_type: str = "payment_succeeded", n: int = 1, **recipients: list[uuid.UUID]
) -> None:
    async with db.transaction() as session:
        for i in range(n):
            await notify(
                session,
                event_type,  # type: ignore[arg-type]
                dedupe_key=f"test-{uuid.uuid4()}-{i}",
                payload={"support_id": str(uuid.uuid4()), "amount_minor": 2_500, "currency": "EUR"},
                recipients=recipients,  # type: ignore[arg-type]
                now=T0,
            )


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


async def test_sinks_deliver_each_channel_once(db: Database, sql: asyncpg.Connection, tmp_path: Path) -> None:
    supporter, creator = uuid.uuid4(), uuid.uuid4()
    await produce(db, supporter=[supporter], creator=[creator])
    channels = sinks(tmp_path)
    assert await deliver_due(db, channels, "w1", T0) == 4
    assert await deliver_due(db, channels, "w1", T0 + timedelta(hours=1)) == 0
    assert [m["recipient_id"] for m in lines(tmp_path / "push.jsonl")] == [str(supporter)]
    assert [m["title"] for m in lines(tmp_path / "email.jsonl")] == ["Support confirmed"]
    assert "25.00 EUR" in str(lines(tmp_path / "email.jsonl")[0]["text"])
    rows = await sql.fetch("select status, attempts, delivered_at, lease_owner from notification_deliveries")
    assert {(r["status"], r["attempts"], r["lease_owner"]) for r in rows} == {("delivered", 1, None)}


async def test_email_goes_through_a_real_smtp_server_to_the_registered_address(
    db: Database, sql: asyncpg.Connection, tmp_path: Path
) -> None:
    known, unknown = uuid.uuid4(), uuid.uuid4()
    await sql.execute("insert into user_contacts (user_id, email) values ($1, 'fan@example.org')", known)
    await produce(db, "refund_issued", supporter=[known])
    await produce(db, "refund_issued", supporter=[unknown])
    with smtp_server(free_port()) as mailbox:
        await deliver_due(db, sinks(tmp_path, email=SmtpEmail(mailbox.url)), "w1", T0)
    assert [m["To"] for m in mailbox.messages] == ["fan@example.org"]
    message = mailbox.messages[0]
    assert message["Subject"] == "Refund issued"
    delivery_id = await sql.fetchval(
        "select delivery_id::text from notification_deliveries where channel = 'email' and recipient_id = $1", known
    )
    assert message["X-Patronage-Delivery-Id"] == delivery_id
    # No address on file is final: the delivery is dead at once with the reason, not retried.
    row = await sql.fetchrow(
        "select status, attempts, last_error from notification_deliveries "
        "where channel = 'email' and recipient_id = $1",
        unknown,
    )
    assert (row["status"], row["attempts"]) == ("dead", 1)
    assert "no email address" in row["last_error"]


async def test_an_email_sent_again_carries_the_same_message_id(
    db: Database, sql: asyncpg.Connection, tmp_path: Path
) -> None:
    """A repeat after a crash is the same e-mail to the receiving side: its Message-ID is the delivery id's."""
    user = uuid.uuid4()
    await sql.execute("insert into user_contacts (user_id, email) values ($1, 'fan@example.org')", user)
    await produce(db, "refund_issued", supporter=[user])
    async with db.transaction() as session:
        row = next(
            r for r in await repo.claim(session, "w1", T0, T0 + timedelta(minutes=1), 10) if r["channel"] == "email"
        )
    with smtp_server(free_port()) as mailbox:
        email = SmtpEmail(mailbox.url)
        for _ in range(2):  # the first attempt, and the retry of a worker that died before recording it
            await email.send(outgoing(row))
    assert [m["Message-ID"] for m in mailbox.messages] == [f"<{row['delivery_id']}@patronage.local>"] * 2


async def test_smtp_down_retries_with_exponential_backoff_then_dead(
    db: Database, sql: asyncpg.Connection, tmp_path: Path
) -> None:
    user = uuid.uuid4()
    await sql.execute("insert into user_contacts (user_id, email) values ($1, 'fan@example.org')", user)
    await produce(db, "payout_released", creator=[user])
    channels = sinks(tmp_path, email=SmtpEmail(f"smtp://127.0.0.1:{free_port()}"))  # nothing listens there
    now, waits = T0, []
    for attempt in range(6):
        assert await deliver_due(db, channels, "w1", now) == (2 if attempt == 0 else 1)  # in_app goes at once
        row = await sql.fetchrow("select * from notification_deliveries where channel = 'email'")
        if row["status"] == "dead":
            break
        assert await deliver_due(db, channels, "w1", row["next_attempt_at"] - timedelta(seconds=1)) == 0
        waits.append((row["next_attempt_at"] - now).total_seconds())
        now = row["next_attempt_at"]
    assert waits == [30, 60, 120, 240, 480]
    assert (row["status"], row["attempts"]) == ("dead", 6)
    assert "SMTP" in row["last_error"]
    assert await deliver_due(db, channels, "w1", now + timedelta(days=1)) == 0  # dead stays dead, kept


async def test_ops_webhook_500_is_retried_until_it_answers(
    db: Database, sql: asyncpg.Connection, tmp_path: Path
) -> None:
    await produce(db, "dispute_sla_breach")
    with webhook_receiver(statuses=[500, 503]) as receiver:
        channels = sinks(tmp_path, ops=OpsWebhook(receiver.url))
        now = T0
        for _ in range(3):
            await deliver_due(db, channels, "w1", now)
            now = await sql.fetchval("select next_attempt_at from notification_deliveries")
        await channels["ops"].close()
    row = await sql.fetchrow("select status, attempts, delivery_id::text as id from notification_deliveries")
    assert (row["status"], row["attempts"]) == ("delivered", 3)
    assert len(receiver.received) == 3
    assert set(receiver.keys) == {row["id"]}
    assert receiver.received[0]["event_type"] == "dispute_sla_breach"


async def test_a_lease_hides_a_delivery_until_it_expires(db: Database, sql: asyncpg.Connection, tmp_path: Path) -> None:
    await produce(db, "dispute_sla_breach")
    async with db.transaction() as session:  # a worker claims it, then dies without a word
        assert len(await repo.claim(session, "dead-worker", T0, T0 + timedelta(seconds=60), 10)) == 1
    channels = sinks(tmp_path)
    assert await deliver_due(db, channels, "w2", T0 + timedelta(seconds=59)) == 0
    assert await deliver_due(db, channels, "w2", T0 + timedelta(seconds=60)) == 1
    # The late outcome of the dead worker changes nothing: only the lease owner records.
    async with db.transaction() as session:
        await repo.mark_failed(
            session,
            "dead-worker",
            [(await sql.fetchval("select delivery_id from notification_deliveries"), "late", False)],
            T0,
            base_seconds=30,
            max_attempts=6,
        )
    assert await sql.fetchval("select status from notification_deliveries") == "delivered"


async def test_concurrent_workers_deliver_every_notification_exactly_once(
    db: Database, sql: asyncpg.Connection, tmp_path: Path
) -> None:
    await produce(db, "dispute_sla_breach", n=300)
    channels = sinks(tmp_path)

    async def worker(name: str) -> int:
        total = 0
        while done := await deliver_due(db, channels, name, T0, batch=25):
            total += done
        return total

    counts = await asyncio.gather(worker("a"), worker("b"), worker("c"))
    assert sum(counts) == 300
    assert all(counts)
    sent = [m["delivery_id"] for m in lines(tmp_path / "ops.jsonl")]
    assert len(sent) == len(set(sent)) == 300
    assert await sql.fetchval("select count(*) from notification_deliveries where status = 'delivered'") == 300


async def test_a_stopping_worker_sends_nothing_more_and_gives_the_rest_back(
    db: Database, sql: asyncpg.Connection, tmp_path: Path
) -> None:
    """Asked to stop mid-batch, the step finishes the send in flight and releases every other leased delivery,
    due at once for another worker: a stop waits for one message, not a batch of 200."""
    await produce(db, n=5, supporter=[uuid.uuid4()])  # 5 pushes, 5 emails, 5 in-app
    channels = sinks(tmp_path)
    sent = 0

    def stopping() -> bool:
        return sent >= 1

    class Counted(Sink):
        async def send(self, message):  # type: ignore[no-untyped-def]
            nonlocal sent
            sent += 1
            return await super().send(message)

    channels["push"] = channels["email"] = Counted(tmp_path / "sent.jsonl")
    assert await deliver_due(db, channels, "w1", T0, stopping=stopping) == 5 + 1  # the in-app, then one send
    assert len(lines(tmp_path / "sent.jsonl")) == 1
    rows = await sql.fetch("select status, lease_owner from notification_deliveries where channel <> 'in_app'")
    assert sorted(r["status"] for r in rows) == ["delivered"] + ["pending"] * 9
    assert {r["lease_owner"] for r in rows if r["status"] == "pending"} == {None}  # released, not leased
    assert await deliver_due(db, sinks(tmp_path), "w2", T0) == 9  # another worker takes them at once
