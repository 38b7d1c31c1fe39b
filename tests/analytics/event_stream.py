"""A seeded stream of accepted events that exercises every rule behind the funnel and KPI marts.

Random journeys (impressions that convert or drop, steps out of order or past the window, repeat
supporters, two currencies, anonymous devices that sign in later) plus a few scripted scenes that make
sure each edge of analytics.md occurs whatever the seed: a step exactly at t1 + 7 days and one second
later, a device shared by two users, a platform tie at the same instant. The days straddle the end of
US daylight saving time (2026-11-01 06:00 UTC), where "t1 + 7 days" computed on a local wall clock
instead of in UTC is an hour too long.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from api.timestamps import rfc3339
from stores import warehouse

FUNNEL_STEPS = ("feed_impression", "project_view", "support_cta_tap", "checkout_started", "payment_succeeded")
FIRST_DAY = date(2026, 10, 26)
LAST_DAY = date(2026, 11, 6)
EMPTY_DAY = date(2026, 11, 3)
US_DST_ENDS = datetime(2026, 11, 1, 6, tzinfo=UTC)
WINDOW = timedelta(days=7)
CLIENT_PLATFORMS = ("ios", "android", "web")
CURRENCIES = ("EUR", "USD")
# Chance that an entry at step k-1 goes on to step k (k = 2..5): every step loses some.
CONTINUE = {2: 0.7, 3: 0.6, 4: 0.65, 5: 0.75}


@dataclass(frozen=True)
class Event:
    event_id: str
    event_name: str
    occurred_at: datetime
    platform: str
    user_id: str | None
    anonymous_id: str | None
    project_id: str | None
    properties: dict[str, object]


@dataclass
class Person:
    user_id: str | None
    devices: list[tuple[str, str]]  # (anonymous_id, platform)
    signs_in_at: datetime | None  # client events carry user_id from then on (None: always, if a user)
    currency: str
    eagerness: float  # scales the chance to go on at each step


@dataclass
class EventStream:
    seed: int
    rng: random.Random = field(init=False)
    events: list[Event] = field(default_factory=list)
    projects: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.projects = [self.new_id() for _ in range(6)]

    def new_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def emit(
        self,
        name: str,
        at: datetime,
        platform: str,
        *,
        user_id: str | None = None,
        anonymous_id: str | None = None,
        project_id: str | None = None,
        properties: dict[str, object] | None = None,
    ) -> Event:
        event = Event(self.new_id(), name, at, platform, user_id, anonymous_id, project_id, properties or {})
        self.events.append(event)
        return event

    def client(self, person: Person, device: tuple[str, str], name: str, at: datetime, project: str | None) -> None:
        signed_in = person.user_id is not None and (person.signs_in_at is None or at >= person.signs_in_at)
        catalog: dict[str, dict[str, object]] = {
            "feed_impression": {"position": self.rng.randrange(20)},
            "project_view": {"source": self.rng.choice(["feed", "search", "share_link"])},
            "checkout_started": {"support_id": self.new_id(), "amount_minor": 1000, "currency": person.currency},
            "video_play": {"rendition": "540p", "watch_ms": 9000, "bitrate_kbps": 900, "bytes_delivered": 10**6},
            "app_open": {"launch": "cold"},
        }
        self.emit(
            name,
            at,
            device[1],
            user_id=person.user_id if signed_in else None,
            anonymous_id=device[0],
            project_id=project,
            properties=catalog.get(name, {}),
        )

    def payment(self, person: Person, at: datetime, project: str) -> None:
        assert person.user_id is not None, "only signed-in people pay"
        currency = person.currency if self.rng.random() < 0.9 else next(c for c in CURRENCIES if c != person.currency)
        properties: dict[str, object] = {
            "support_id": self.new_id(),
            "amount_minor": self.rng.choice([100, 333, 500, 999, 1000, 2500, 10000]),
            "currency": currency,
            "payment_intent_id": "pi_" + self.new_id().replace("-", "")[:24],
        }
        self.emit("payment_succeeded", at, "server", user_id=person.user_id, project_id=project, properties=properties)

    def step(self, person: Person, device: tuple[str, str], k: int, at: datetime, project: str) -> None:
        if k == 5:
            self.payment(person, at, project)
        else:
            self.client(person, device, FUNNEL_STEPS[k - 1], at, project)

    def next_step_at(self, t1: datetime, previous: datetime) -> datetime:
        roll = self.rng.random()
        if roll < 0.07:  # out of order: before the previous step
            return previous - timedelta(seconds=self.rng.randint(1, 3600))
        if roll < 0.12:  # past the window, often within the hour a wall-clock "7 days" would wrongly add
            return t1 + WINDOW + timedelta(seconds=self.rng.choice([1, 59, 1800, 3599, 7200]))
        if roll < 0.15:  # exactly at the edge
            return t1 + WINDOW
        if roll < 0.75:
            return previous + timedelta(milliseconds=self.rng.randint(0, 600_000))
        if roll < 0.93:
            return previous + timedelta(seconds=self.rng.randint(600, 12 * 3600))
        return previous + timedelta(days=self.rng.uniform(1, 5))

    def journey(self, person: Person, day: date, project: str) -> None:
        device = self.rng.choice(person.devices)
        t1 = datetime.combine(day, time(), UTC) + timedelta(milliseconds=self.rng.randrange(86_400_000))
        self.client(person, device, "app_open", t1 - timedelta(seconds=5), None)
        if self.rng.random() < 0.1:  # viewed from a share link before the impression: does not count
            self.client(person, device, "project_view", t1 - timedelta(seconds=self.rng.randint(1, 7200)), project)
        self.client(person, device, "feed_impression", t1, project)
        if self.rng.random() < 0.25:  # another impression the same day, maybe elsewhere or at the same instant
            other = self.rng.choice(person.devices)
            later = t1 if self.rng.random() < 0.3 else t1 + timedelta(seconds=self.rng.randint(1, 20_000))
            self.client(person, other, "feed_impression", later, project)
        previous = t1
        for k in range(2, 6):
            if k == 5 and person.user_id is None:
                break
            if self.rng.random() > CONTINUE[k] * person.eagerness:
                break
            at = self.next_step_at(t1, previous)
            self.step(person, device, k, at, project)
            if k == 2 and self.rng.random() < 0.3:
                self.client(person, device, "video_play", at + timedelta(seconds=3), project)
            previous = max(previous, at)

    def person(self, kind: str) -> Person:
        devices = [(f"dev-{self.new_id()[:13]}", self.rng.choice(CLIENT_PLATFORMS))]
        if self.rng.random() < 0.3:
            devices.append((f"dev-{self.new_id()[:13]}", self.rng.choice(CLIENT_PLATFORMS)))
        user_id = None if kind == "guest" else self.new_id()
        signs_in_at = None
        if kind == "late_sign_in":
            signs_in_at = datetime.combine(FIRST_DAY, time(), UTC) + timedelta(days=self.rng.uniform(1, 10))
        eagerness = 1.3 if kind == "fan" else self.rng.uniform(0.6, 1.1)
        return Person(user_id, devices, signs_in_at, self.rng.choice(CURRENCIES), eagerness)


def scripted_scenes(stream: EventStream) -> None:
    """Edges that must occur whatever the seed (the random journeys hit most of them anyway)."""
    p, q = stream.projects[0], stream.projects[1]
    at = datetime(2026, 10, 28, 12, tzinfo=UTC)
    member = Person(stream.new_id(), [("dev-edge", "ios"), ("dev-edge-2", "android")], None, "EUR", 1.0)
    # Window edge across the DST change: a view exactly at t1 + 7 days counts, a tap one second later not.
    stream.client(member, member.devices[0], "feed_impression", at, p)
    stream.client(member, member.devices[0], "project_view", at + WINDOW, p)
    stream.client(member, member.devices[0], "support_cta_tap", at + WINDOW + timedelta(seconds=1), p)
    # Past the window by half an hour: inside only if "7 days" were 169 hours of local time.
    stream.client(member, member.devices[0], "feed_impression", at, q)
    stream.client(member, member.devices[0], "project_view", at + WINDOW + timedelta(minutes=30), q)
    # A platform tie: two impressions at the same instant on two devices (the lowest event_id decides).
    tie = datetime(2026, 10, 30, 8, tzinfo=UTC)
    stream.client(member, member.devices[0], "feed_impression", tie, stream.projects[2])
    stream.client(member, member.devices[1], "feed_impression", tie, stream.projects[2])
    # A device shared by two users: its anonymous events belong to the first to sign in on it. The first
    # user is also active signed in elsewhere that day, so giving those events to the second shows.
    first = Person(stream.new_id(), [("dev-shared", "web"), ("dev-first", "web")], None, "USD", 1.0)
    second = Person(stream.new_id(), [("dev-shared", "web")], datetime(2026, 11, 4, 10, tzinfo=UTC), "USD", 1.0)
    first.signs_in_at = datetime(2026, 10, 29, 10, tzinfo=UTC)
    stream.client(first, first.devices[0], "app_open", first.signs_in_at, None)
    stream.client(second, second.devices[0], "project_view", datetime(2026, 11, 4, 10, tzinfo=UTC), q)
    anonymous_at = datetime(2026, 11, 5, 9, tzinfo=UTC)
    stream.emit("feed_impression", anonymous_at, "web", anonymous_id="dev-shared", project_id=p)
    stream.emit("project_view", anonymous_at + timedelta(minutes=1), "web", anonymous_id="dev-shared", project_id=p)
    stream.client(first, first.devices[1], "feed_impression", anonymous_at + timedelta(minutes=30), p)
    stream.client(first, first.devices[1], "project_view", anonymous_at + timedelta(minutes=31), p)
    # Two users sign in on one device at the same instant (the lowest event_id decides); one of them also
    # views signed in on the day of the device's anonymous view, so the count depends on who wins.
    twins = [Person(stream.new_id(), [("dev-twins", "android")], None, "EUR", 1.0) for _ in range(2)]
    for twin in twins:
        stream.client(twin, twin.devices[0], "app_open", datetime(2026, 10, 31, 7, tzinfo=UTC), None)
    viewed_at = datetime(2026, 11, 1, 7, tzinfo=UTC)
    stream.emit("project_view", viewed_at, "android", anonymous_id="dev-twins", project_id=q)
    stream.emit("project_view", viewed_at, "ios", user_id=twins[0].user_id, anonymous_id="dev-twin-0", project_id=q)


def generate_events(seed: int) -> list[Event]:
    stream = EventStream(seed)
    kinds = ["member"] * 25 + ["late_sign_in"] * 15 + ["guest"] * 12 + ["fan"] * 8
    people = [stream.person(kind) for kind in kinds]
    days = [FIRST_DAY + timedelta(days=n) for n in range((LAST_DAY - FIRST_DAY).days + 1)]
    for person in people:
        favourite = stream.rng.choice(stream.projects)
        for _ in range(stream.rng.randint(2, 9)):
            project = favourite if stream.rng.random() < 0.5 else stream.rng.choice(stream.projects)
            stream.journey(person, stream.rng.choice(days), project)
        if person.user_id is not None and stream.rng.random() < 0.15:  # pays again without a new impression
            paid_at = datetime.combine(stream.rng.choice(days), time(12), UTC)
            stream.payment(person, paid_at, favourite)
    scripted_scenes(stream)
    in_range = [e for e in stream.events if FIRST_DAY <= e.occurred_at.date() <= LAST_DAY]
    return [e for e in in_range if e.occurred_at.date() != EMPTY_DAY]


def envelope(event: Event) -> dict[str, object]:
    """The event as a client or the server sends it (event-contract-v1)."""
    client = event.platform != "server"
    return {
        "event_id": event.event_id,
        "event_name": event.event_name,
        "schema_version": "1.0",
        "occurred_at": rfc3339(event.occurred_at),
        "platform": event.platform,
        "app_version": "2.3.0" if client else None,
        "user_id": event.user_id,
        "anonymous_id": event.anonymous_id,
        "session_id": f"session-{event.anonymous_id}" if client else None,
        "project_id": event.project_id,
        "properties": event.properties,
    }


def write_raw_events(path: Path, events: list[Event]) -> None:
    """Land the events as the ingestion would: one raw.events row each, with its raw line."""
    rows = []
    for event in events:
        sent = envelope(event)
        raw = json.dumps(sent, separators=(",", ":"))
        rows.append(
            (
                *(sent[key] for key in ("event_id", "event_name", "schema_version")),
                event.occurred_at,
                event.occurred_at + timedelta(seconds=2),
                *(sent[key] for key in ("platform", "app_version", "user_id", "anonymous_id", "session_id")),
                event.project_id,
                json.dumps(event.properties),
                raw,
                hashlib.sha256(raw.encode()).hexdigest(),
            )
        )
    with warehouse.connect(path) as connection:
        connection.executemany(
            """
            insert into raw.events (
                event_id, event_name, schema_version, occurred_at, received_at, platform, app_version, user_id,
                anonymous_id, session_id, project_id, properties, raw, raw_sha256, source, source_ref, run_id
            ) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'landing_file', 'analytics-test.ndjson', 'test-run')
            """,
            rows,
        )
