"""The bitrate cost guardrail, rule v1, computed in plain Python straight from analytics.md (DA-003 and
"Actors and stitching"): the independent side of the dbt models' comparison test.

Conversion thresholds are compared as exact fractions, so a window exactly at a threshold is unambiguous.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

MIN_VIEWERS = 200
CAP_360P_BELOW = Fraction("0.002")
CAP_540P_BELOW = Fraction("0.005")
HOLD_540P_BELOW = Fraction("0.0075")
RECOVERY_DAYS = 3
WINDOW_DAYS = 7
LEVEL_NAMES = ("uncapped", "cap_540p", "cap_360p")
ACTION_NAMES = ("lift_cap", "cap_540p", "cap_360p")
MAX_RENDITIONS = ("1080p", "540p", "360p")
# The savings estimate's assumed bitrate of each level's top rendition (the model's documented default).
NOMINAL_KBPS = (4800, 1600, 800)


@dataclass(frozen=True)
class Event:
    event_id: str
    event_name: str
    occurred_at: datetime
    user_id: str | None
    anonymous_id: str | None
    project_id: str | None
    bytes_delivered: int | None = None

    @property
    def day(self) -> date:
        return self.occurred_at.astimezone(UTC).date()


@dataclass(frozen=True)
class Window:
    viewers: int
    supporters: int
    bytes_delivered: int

    @property
    def conversion(self) -> Fraction | None:
        return Fraction(self.supporters, self.viewers) if self.viewers else None


@dataclass(frozen=True)
class Action:
    project_id: str
    decided_on: date
    action: str
    effective_from: date
    recovery_window_ends: date
    viewers: int
    supporters: int
    conversion_rate: float | None
    delivered_gb: float
    est_monthly_savings_gb: float
    rule_version: str = "v1"


@dataclass(frozen=True)
class State:
    project_id: str
    level: str
    max_rendition: str
    since: date
    recovery_window_ends: date | None


@dataclass
class Trace:
    """What happened on the evaluated days, so a test can prove its data exercises every branch."""

    tightened: int = 0
    loosened: int = 0
    blocked_loosening: int = 0
    ineligible_days: int = 0
    ineligible_days_that_would_change: int = 0
    held_at_540p_in_band: int = 0
    band_loosened_360p_to_540p: int = 0
    empty_days: int = 0
    at_threshold: set[str] = field(default_factory=set)


def actor_ids(events: list[Event]) -> dict[str, str]:
    """event_id -> actor_id: the user, else the user the anonymous_id was first seen with, else 'anon:' || it."""
    linked: dict[str, str] = {}
    for event in sorted(events, key=lambda e: (e.occurred_at, e.event_id)):
        if event.anonymous_id is not None and event.user_id is not None:
            linked.setdefault(event.anonymous_id, event.user_id)
    actors = {}
    for event in events:
        if event.user_id is not None:
            actors[event.event_id] = event.user_id
        elif event.anonymous_id is not None:
            actors[event.event_id] = linked.get(event.anonymous_id, "anon:" + event.anonymous_id)
    return actors


def target_level(current: int, window: Window) -> int:
    """The rule table's target for one day; an ineligible window keeps the current level."""
    conversion = window.conversion
    if window.viewers < MIN_VIEWERS or conversion is None:
        return current
    return conversion_target(current, conversion)


def conversion_target(current: int, conversion: Fraction) -> int:
    if conversion < CAP_360P_BELOW:
        return 2
    if conversion < CAP_540P_BELOW:
        return 1
    if conversion < HOLD_540P_BELOW:
        return min(current, 1)
    return 0


def evaluate(events: list[Event]) -> tuple[list[Action], list[State], Trace]:
    actors = actor_ids(events)
    last_day = max(event.day for event in events)
    viewers: dict[tuple[str, date], set[str]] = defaultdict(set)
    supporters: dict[tuple[str, date], set[str]] = defaultdict(set)
    delivered: dict[tuple[str, date], int] = defaultdict(int)
    active: set[tuple[str, date]] = set()
    first_view: dict[str, date] = {}
    for event in events:
        if event.project_id is None:
            continue
        key = (event.project_id, event.day)
        active.add(key)
        if event.event_name == "project_view":
            viewers[key].add(actors[event.event_id])
            first_view[event.project_id] = min(first_view.get(event.project_id, event.day), event.day)
        elif event.event_name == "payment_succeeded":
            supporters[key].add(actors[event.event_id])
        elif event.event_name == "video_play":
            delivered[key] += event.bytes_delivered or 0

    actions: list[Action] = []
    states: list[State] = []
    trace = Trace()
    for project_id, first_day in sorted(first_view.items()):
        level, recovery_window_ends, since = 0, None, first_day
        day = first_day
        while day <= last_day:
            span = [(project_id, day - timedelta(days=back)) for back in range(WINDOW_DAYS)]
            window = Window(
                viewers=len(set().union(*(viewers[key] for key in span))),
                supporters=len(set().union(*(supporters[key] for key in span))),
                bytes_delivered=sum(delivered[key] for key in span),
            )
            target = target_level(level, window)
            if target > level or (target < level and recovery_window_ends is not None and day >= recovery_window_ends):
                new_level = target
            else:
                new_level = level
            _observe(trace, level, target, new_level, window, empty_day=(project_id, day) not in active)
            if new_level != level:
                recovery_window_ends = day + timedelta(days=RECOVERY_DAYS)
                since = day + timedelta(days=1)
                delivered_gb = window.bytes_delivered / 1e9
                actions.append(
                    Action(
                        project_id=project_id,
                        decided_on=day,
                        action=ACTION_NAMES[new_level],
                        effective_from=since,
                        recovery_window_ends=recovery_window_ends,
                        viewers=window.viewers,
                        supporters=window.supporters,
                        conversion_rate=window.supporters / window.viewers if window.viewers else None,
                        delivered_gb=delivered_gb,
                        est_monthly_savings_gb=delivered_gb
                        * 30
                        / WINDOW_DAYS
                        * (1 - NOMINAL_KBPS[new_level] / NOMINAL_KBPS[level]),
                    )
                )
                level = new_level
            day += timedelta(days=1)
        states.append(State(project_id, LEVEL_NAMES[level], MAX_RENDITIONS[level], since, recovery_window_ends))
    return actions, states, trace


def _observe(trace: Trace, level: int, target: int, new_level: int, window: Window, *, empty_day: bool) -> None:
    conversion = window.conversion
    trace.tightened += new_level > level
    trace.loosened += new_level < level
    trace.blocked_loosening += target < level and new_level == level
    trace.empty_days += empty_day
    if window.viewers < MIN_VIEWERS:
        trace.ineligible_days += 1
        trace.ineligible_days_that_would_change += (
            conversion is not None and conversion_target(level, conversion) != level
        )
    elif conversion is not None and CAP_540P_BELOW <= conversion < HOLD_540P_BELOW:
        trace.held_at_540p_in_band += level == 1 and new_level == 1
        trace.band_loosened_360p_to_540p += level == 2 and new_level == 1
    if window.viewers == MIN_VIEWERS:
        trace.at_threshold.add("viewers")
    for name, threshold in (("0.002", CAP_360P_BELOW), ("0.005", CAP_540P_BELOW), ("0.0075", HOLD_540P_BELOW)):
        if window.viewers >= MIN_VIEWERS and conversion == threshold:
            trace.at_threshold.add(name)
