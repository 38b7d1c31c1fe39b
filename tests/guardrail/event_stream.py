"""The guardrail's synthetic event stream: random projects around every threshold of rule v1, and each event's
properties as the app sends them."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta

from tests.guardrail.reference_rule import Event

FIRST_DAY = date(2026, 10, 1)
DAYS = 30
# Daily probability that a viewer supports: around the thresholds 0.002 / 0.005 / 0.0075 over a ~400-viewer window.
SUPPORT_RATES = (0.0, 0.002, 0.004, 0.0065, 0.01, 0.02)
# (viewers, supporters) of one-day bursts a week apart, so each window holds exactly one: every threshold hit
# exactly (0.002 -> cap_540p, 200 viewers at 0.005 -> hold, 0 -> cap_360p, 0.005 -> cap_540p, 0.0075 -> lift_cap).
THRESHOLD_BURSTS = ((500, 1), (200, 1), (499, 0), (200, 1), (400, 3))


Identity = tuple[str | None, str | None]  # (user_id, anonymous_id)


class EventMaker:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.events: list[Event] = []

    def add(
        self, name: str, day: date, project: str | None, actor: Identity, bytes_delivered: int | None = None
    ) -> None:
        moment = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(seconds=self.rng.randrange(86_400))
        event_id = str(uuid.UUID(int=self.rng.getrandbits(128)))
        self.events.append(Event(event_id, name, moment, actor[0], actor[1], project, bytes_delivered))

    def view(self, day: date, project: str, actor: Identity, *, supports: bool) -> None:
        self.add("project_view", day, project, actor)
        if supports:
            self.add("payment_succeeded", day, project, actor)
        if self.rng.random() < 0.7:
            self.add("video_play", day, project, actor, bytes_delivered=self.rng.randrange(10**6, 5 * 10**8))


def random_project(maker: EventMaker, index: int) -> None:
    """Phases of a few days, each with a traffic level (some too low to be eligible) and a support rate;
    some days have no events; some viewers are anonymous devices, a few of them also seen signed in."""
    rng, project = maker.rng, f"project-{index}"
    start = FIRST_DAY + timedelta(days=rng.choice([0, 0, 1, 3, 8]))
    maker.add("video_play", start - timedelta(days=2), project, (f"u{index}-0", None), bytes_delivered=10**8)
    day = start
    while day < FIRST_DAY + timedelta(days=DAYS):
        daily_viewers, rate = rng.choice([12, 50, 70, 90, 120]), rng.choice(SUPPORT_RATES)
        for _ in range(rng.randrange(3, 8)):
            if day == start or rng.random() >= 0.08:
                for _ in range(max(1, int(rng.gauss(daily_viewers, daily_viewers / 5)))):
                    number = rng.randrange(1_500)
                    actor: Identity = (f"u{index}-{number}", None)
                    if rng.random() < 0.15:
                        actor = (actor[0] if rng.random() < 0.3 else None, f"d{index}-{number}")
                    maker.view(day, project, actor, supports=rng.random() < rate)
            day += timedelta(days=1)


def threshold_project(maker: EventMaker) -> None:
    for burst, (viewers, supporters) in enumerate(THRESHOLD_BURSTS):
        day = FIRST_DAY + timedelta(days=7 * burst)
        for number in range(viewers):
            maker.view(day, "project-edge", (f"edge{burst}-{number}", None), supports=number < supporters)


def synthetic_events(seed: int, projects: int = 8) -> list[Event]:
    maker = EventMaker(seed)
    for index in range(projects):
        random_project(maker, index)
    threshold_project(maker)
    # The range ends on the last day with any accepted event, even one without a project.
    maker.add("app_open", FIRST_DAY + timedelta(days=DAYS + 2), None, ("u0-1", None))
    return maker.events


def properties(event: Event) -> dict[str, object]:
    match event.event_name:
        case "project_view":
            return {"source": "feed"}
        case "payment_succeeded":
            return {"support_id": event.event_id, "amount_minor": 500, "currency": "EUR"}
        case "video_play":
            rendition = {"video_id": event.event_id, "rendition": "1080p", "watch_ms": 1, "bitrate_kbps": 1}
            return rendition | {"bytes_delivered": event.bytes_delivered}
    return {"launch": "cold"}
