"""Every SQL query of the notifications domain."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import hot

# One round trip: the event, and its deliveries only when the event is new (`dedupe_key` unseen).
_INSERT_EVENT = hot.Sql(
    """
    with event as (
        insert into notification_events (notification_event_id, event_type, dedupe_key, payload)
        values (:id, :event_type, :dedupe_key, cast(:payload as jsonb))
        on conflict (dedupe_key) do nothing
        returning notification_event_id
    ), deliveries as (
        insert into notification_deliveries (delivery_id, notification_event_id, channel, recipient_id,
            next_attempt_at)
        select gen_random_uuid(), event.notification_event_id, d.channel, d.recipient_id, :now
          from event, jsonb_to_recordset(cast(:deliveries as jsonb)) as d(channel text, recipient_id uuid)
        returning 1
    )
    select count(*) from event
    """
)


async def insert_event(
    session: AsyncSession,
    event_type: str,
    dedupe_key: str,
    payload: dict[str, Any],
    deliveries: Sequence[tuple[str, uuid.UUID | None]],
    now: datetime,
) -> bool:
    """The event and its deliveries, or nothing when `dedupe_key` was already produced."""
    rows = [{"channel": channel, "recipient_id": str(r) if r else None} for channel, r in deliveries]
    inserted = await hot.fetchrow(
        session,
        _INSERT_EVENT,
        {
            "id": uuid.uuid4(),
            "event_type": event_type,
            "dedupe_key": dedupe_key,
            "payload": json.dumps(payload),
            "deliveries": json.dumps(rows),
            "now": now,
        },
    )
    return inserted is not None and bool(inserted["count"])


# A project's creator never changes, so remembering it is safe in any number of processes (bounded).
_CREATORS: dict[uuid.UUID, uuid.UUID] = {}
_CREATORS_MAX = 100_000


async def project_creator(session: AsyncSession, project_id: uuid.UUID) -> uuid.UUID | None:
    if (known := _CREATORS.get(project_id)) is not None:
        return known
    value = await session.scalar(text("select creator_id from projects where project_id = :p"), {"p": project_id})
    if value is None:
        return None
    creator = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    if len(_CREATORS) >= _CREATORS_MAX:
        _CREATORS.clear()
    _CREATORS[project_id] = creator
    return creator


async def project_supporters(session: AsyncSession, project_id: uuid.UUID) -> list[uuid.UUID]:
    """Current backers: supports paid and not taken back (refunded or charged back)."""
    rows = await session.scalars(
        text(
            "select distinct supporter_id from supports "
            "where project_id = :p and status in ('succeeded', 'disputed') order by supporter_id"
        ),
        {"p": project_id},
    )
    return list(rows)


# --- the worker's queue ------------------------------------------------------------------------

_CLAIM = text(
    """
    with due as (
        select delivery_id from notification_deliveries
        where status = 'pending' and next_attempt_at <= :now
          and (lease_expires_at is null or lease_expires_at <= :now)
        order by next_attempt_at
        limit :limit
        for update skip locked
    )
    update notification_deliveries d
    set lease_owner = :owner, lease_expires_at = :lease_until
    from due, notification_events e
    where d.delivery_id = due.delivery_id and e.notification_event_id = d.notification_event_id
    returning d.delivery_id, d.channel, d.recipient_id, d.attempts, e.event_type, e.payload,
        (select c.email from user_contacts c where c.user_id = d.recipient_id) as email,
        (select c.push_token from user_contacts c where c.user_id = d.recipient_id) as push_token,
        -- push: the recipient's devices without a final APNs answer for this delivery, and how many accepted it
        case when d.channel = 'push' then (
            select jsonb_agg(jsonb_build_object('device_id', v.device_id, 'token', v.device_token,
                'environment', v.environment) order by v.created_at, v.device_id)
            from push_devices v
            where v.user_id = d.recipient_id and not exists (
                select from push_receipts r where r.delivery_id = d.delivery_id and r.device_id = v.device_id)
        ) end as devices,
        case when d.channel = 'push' then (
            select count(*) from push_receipts r where r.delivery_id = d.delivery_id and r.status = 200
        ) else 0 end as pushed
    """
)
# APNs's final answers: devices it no longer knows go (unless registered again after its 410 timestamp),
# the others' answers are kept so that a retry of the delivery skips them.
_FORGET_DEVICES = text(
    """
    delete from push_devices v
    using jsonb_to_recordset(cast(:gone as jsonb)) as g(device_id uuid, since timestamptz)
    where v.device_id = g.device_id and (g.since is null or v.updated_at <= g.since)
    """
)
_RECEIPTS = text(
    """
    insert into push_receipts (delivery_id, device_id, status, reason, answered_at)
    select r.delivery_id, r.device_id, r.status, r.reason, :now
    from jsonb_to_recordset(cast(:receipts as jsonb)) as r(delivery_id uuid, device_id uuid, status int, reason text)
    join push_devices v on v.device_id = r.device_id
    for key share of v  -- a device unregistered meanwhile is skipped, not a foreign-key error
    on conflict do nothing
    """
)
_DELIVERED = hot.Sql(
    "update notification_deliveries set status = 'delivered', delivered_at = :now, attempts = attempts + 1, "
    "lease_owner = null, lease_expires_at = null, last_error = null "
    "where delivery_id = any(:ids) and lease_owner = :owner and status = 'pending'"
)
# Leased but not attempted (the lease's sending time ran out): due again at once, for any worker.
_RELEASE = text(
    "update notification_deliveries set lease_owner = null, lease_expires_at = null "
    "where delivery_id = any(:ids) and lease_owner = :owner and status = 'pending'"
)
# 30 s x 2^attempt after a failed attempt; the MAX_ATTEMPTS-th failure (or a permanent one) is final.
_FAILED = text(
    """
    update notification_deliveries d
    set attempts = d.attempts + 1,
        status = case when f.permanent or d.attempts + 1 >= :max_attempts then 'dead' else 'pending' end,
        next_attempt_at = cast(:now as timestamptz) + make_interval(secs => :base * power(2, d.attempts)),
        last_error = f.error, lease_owner = null, lease_expires_at = null
    from jsonb_to_recordset(cast(:failures as jsonb)) as f(delivery_id uuid, error text, permanent boolean)
    where d.delivery_id = f.delivery_id and d.lease_owner = :owner and d.status = 'pending'
    """
)


async def claim(
    session: AsyncSession, owner: str, now: datetime, lease_until: datetime, limit: int
) -> list[dict[str, Any]]:
    """Lease up to `limit` due deliveries to `owner`; rows leased by a live worker are skipped."""
    result = await session.execute(_CLAIM, {"owner": owner, "now": now, "lease_until": lease_until, "limit": limit})
    return [dict(row) for row in result.mappings()]


# (delivery id, device id, APNs status, reason, gone, gone since): one device's final answer to a delivery.
ReceiptRow = tuple[uuid.UUID, uuid.UUID, int, str | None, bool, datetime | None]


async def record_receipts(session: AsyncSession, receipts: Sequence[ReceiptRow], now: datetime) -> None:
    """Removes the devices APNs called gone, then keeps every answer of a device still registered."""
    gone = [
        {"device_id": str(device), "since": since.isoformat() if since else None}
        for _, device, _, _, is_gone, since in receipts
        if is_gone
    ]
    if gone:
        await session.execute(_FORGET_DEVICES, {"gone": json.dumps(gone)})
    if receipts:
        rows = [
            {"delivery_id": str(delivery), "device_id": str(device), "status": status, "reason": reason and reason[:64]}
            for delivery, device, status, reason, _, _ in receipts
        ]
        await session.execute(_RECEIPTS, {"receipts": json.dumps(rows), "now": now})


async def mark_delivered(session: AsyncSession, owner: str, ids: Sequence[uuid.UUID], now: datetime) -> None:
    if ids:
        await session.execute(_DELIVERED.clause, {"ids": list(ids), "owner": owner, "now": now})


async def record_delivered_at_once(session: AsyncSession, owner: str, delivery_id: uuid.UUID, now: datetime) -> None:
    """One delivery sent: recorded in a transaction of its own, before the worker sends the next one, and
    without waiting for the disk (see `outcome_without_waiting_for_disk`). The common outcome, so it skips
    the unit of work's layers: three round trips."""
    await hot.execute_committed(
        session, _DELIVERED, {"ids": [delivery_id], "owner": owner, "now": now}, wait_for_disk=False
    )


async def outcome_without_waiting_for_disk(session: AsyncSession) -> None:
    """This unit of work commits without waiting for its WAL flush (visible at once, durable ~200 ms later):
    a worker's crash loses nothing by it; a crash of PostgreSQL itself may forget the outcomes of its last
    moments, whose messages then go again (at least once holds). A per-delivery commit costs the queue a
    disk flush per message otherwise."""
    await session.execute(text("set local synchronous_commit = off"))


async def release(session: AsyncSession, owner: str, ids: Sequence[uuid.UUID]) -> None:
    if ids:
        await session.execute(_RELEASE, {"ids": list(ids), "owner": owner})


async def mark_failed(
    session: AsyncSession,
    owner: str,
    failures: Sequence[tuple[uuid.UUID, str, bool]],
    now: datetime,
    *,
    base_seconds: int,
    max_attempts: int,
) -> None:
    if failures:
        rows = [
            {"delivery_id": str(i), "error": error[:2000], "permanent": permanent} for i, error, permanent in failures
        ]
        await session.execute(
            _FAILED,
            {
                "failures": json.dumps(rows),
                "owner": owner,
                "now": now,
                "base": base_seconds,
                "max_attempts": max_attempts,
            },
        )


# --- inbox, contacts and queue stats ------------------------------------------------------------

_INBOX = text(
    """
    select d.delivery_id, e.event_type, e.payload, d.created_at, d.read_at
    from notification_deliveries d join notification_events e using (notification_event_id)
    where d.recipient_id = :user and d.channel = 'in_app'
      and (cast(:after_at as timestamptz) is null or (d.created_at, d.delivery_id) < (:after_at, :after_id))
    order by d.created_at desc, d.delivery_id desc
    limit :limit
    """
)
_MARK_READ = text(
    "update notification_deliveries set read_at = coalesce(read_at, :now) "
    "where delivery_id = :id and recipient_id = :user and channel = 'in_app' returning delivery_id"
)
_UPSERT_CONTACT = text(
    "insert into user_contacts (user_id, email, push_token, updated_at) values (:user, :email, :push_token, now()) "
    "on conflict (user_id) do update set email = excluded.email, push_token = excluded.push_token, updated_at = now()"
)
_QUEUE_STATS = text(
    """
    select c.channel,
        count(*) filter (where d.status = 'pending') as backlog,
        count(*) filter (where d.status = 'pending' and d.next_attempt_at <= :now) as due,
        extract(epoch from :now - min(d.created_at) filter (where d.status = 'pending')) as oldest_age_seconds,
        count(*) filter (where d.status = 'pending' and d.lease_expires_at > :now) as in_flight,
        count(*) filter (where d.status = 'dead') as dead,
        count(*) filter (where d.status = 'delivered') as delivered
    from unnest(cast(:channels as text[])) as c(channel)
    left join notification_deliveries d on d.channel = c.channel
    group by c.channel order by c.channel
    """
)


async def inbox_page(
    session: AsyncSession, user_id: uuid.UUID, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[Any]:
    params = {"user": user_id, "after_at": after[0] if after else None, "after_id": after[1] if after else None}
    return list((await session.execute(_INBOX, {**params, "limit": limit})).mappings())


async def inbox_item(session: AsyncSession, user_id: uuid.UUID, delivery_id: uuid.UUID) -> Any:
    query = text(
        "select d.delivery_id, e.event_type, e.payload, d.created_at, d.read_at "
        "from notification_deliveries d join notification_events e using (notification_event_id) "
        "where d.delivery_id = :id and d.recipient_id = :user and d.channel = 'in_app'"
    )
    return (await session.execute(query, {"id": delivery_id, "user": user_id})).mappings().first()


async def mark_read(session: AsyncSession, user_id: uuid.UUID, delivery_id: uuid.UUID, now: datetime) -> bool:
    return await session.scalar(_MARK_READ, {"id": delivery_id, "user": user_id, "now": now}) is not None


async def upsert_contact(session: AsyncSession, user_id: uuid.UUID, email: str | None, push_token: str | None) -> None:
    await session.execute(_UPSERT_CONTACT, {"user": user_id, "email": email, "push_token": push_token})


async def queue_stats(session: AsyncSession, channels: Sequence[str], now: datetime) -> list[Any]:
    return list((await session.execute(_QUEUE_STATS, {"channels": list(channels), "now": now})).mappings())


# --- push devices -------------------------------------------------------------------------------

# A token names one app install: registering it again refreshes it, under another user it moves (and is new
# to that user's list).
_UPSERT_DEVICE = text(
    """
    insert into push_devices as v (device_id, device_token, user_id, environment, bundle_id, app_version)
    values (:id, :token, :user, :environment, :bundle_id, :app_version)
    on conflict (device_token) do update set
        user_id = excluded.user_id, environment = excluded.environment, bundle_id = excluded.bundle_id,
        app_version = excluded.app_version, updated_at = now(),
        created_at = case when v.user_id = excluded.user_id then v.created_at else now() end
    returning device_id, device_token, environment, bundle_id, app_version, created_at, updated_at
    """
)
# The contact route's variant: a token already the user's keeps what the app registered with it.
_REGISTER_CONTACT_DEVICE = text(
    """
    insert into push_devices as v (device_id, device_token, user_id, environment, bundle_id, app_version)
    values (:id, :token, :user, :environment, :bundle_id, :app_version)
    on conflict (device_token) do update set
        user_id = excluded.user_id, environment = excluded.environment, bundle_id = null, app_version = null,
        updated_at = now(), created_at = now()
    where v.user_id <> excluded.user_id
    """
)
_DEVICES = text(
    """
    select device_id, device_token, environment, bundle_id, app_version, created_at, updated_at
    from push_devices
    where user_id = :user
      and (cast(:after_at as timestamptz) is null or (created_at, device_id) < (:after_at, :after_id))
    order by created_at desc, device_id desc
    limit :limit
    """
)
_DELETE_DEVICE = text("delete from push_devices where device_token = :token and user_id = :user returning device_id")


async def upsert_device(
    session: AsyncSession,
    user_id: uuid.UUID,
    token: str,
    environment: str,
    bundle_id: str | None,
    app_version: str | None,
    *,
    keep_own: bool = False,
) -> Any:
    """The device as registered now (None with `keep_own`, which leaves a token already the user's as it is)."""
    params = {
        "id": uuid.uuid4(),
        "token": token,
        "user": user_id,
        "environment": environment,
        "bundle_id": bundle_id,
        "app_version": app_version,
    }
    if keep_own:
        await session.execute(_REGISTER_CONTACT_DEVICE, params)
        return None
    return (await session.execute(_UPSERT_DEVICE, params)).mappings().one()


async def devices_page(
    session: AsyncSession, user_id: uuid.UUID, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[Any]:
    params = {"user": user_id, "after_at": after[0] if after else None, "after_id": after[1] if after else None}
    return list((await session.execute(_DEVICES, {**params, "limit": limit})).mappings())


async def delete_device(session: AsyncSession, user_id: uuid.UUID, token: str) -> bool:
    return await session.scalar(_DELETE_DEVICE, {"token": token, "user": user_id}) is not None


async def contact_push_token(session: AsyncSession, user_id: uuid.UUID) -> str | None:
    query = text("select push_token from user_contacts where user_id = :user")
    value = await session.scalar(query, {"user": user_id})
    return str(value) if value is not None else None
