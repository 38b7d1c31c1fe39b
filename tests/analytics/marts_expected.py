"""The funnel and KPI marts computed in plain Python straight from spec/analytics.md (not from the SQL).

Each mart is a dict from its grain (a tuple) to the tuple of its other columns, in the column order of
the contract.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from tests.analytics.event_stream import FUNNEL_STEPS, WINDOW, Event

Mart = dict[tuple[object, ...], tuple[object, ...]]


def utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def ratio(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else numerator / denominator


def actors_of(events: Iterable[Event]) -> dict[str, str]:
    """event_id → actor_id: the user; else the earliest user seen with the anonymous_id; else anon:<id>."""
    events = list(events)
    earliest_link: dict[str, tuple[datetime, str, str]] = {}
    for event in events:
        if event.user_id is None or event.anonymous_id is None:
            continue
        link = (event.occurred_at, event.event_id, event.user_id)
        if event.anonymous_id not in earliest_link or link[:2] < earliest_link[event.anonymous_id][:2]:
            earliest_link[event.anonymous_id] = link
    actors: dict[str, str] = {}
    for event in events:
        if event.user_id is not None:
            actors[event.event_id] = event.user_id
        elif event.anonymous_id in earliest_link:
            actors[event.event_id] = earliest_link[event.anonymous_id][2]
        else:
            actors[event.event_id] = f"anon:{event.anonymous_id}"
    return actors


@dataclass(frozen=True)
class Entry:
    actor_id: str
    project_id: str
    day: date
    platform: str
    t1: datetime
    reached_at: tuple[datetime | None, ...]  # t1..t5, None from the first step not reached

    @property
    def steps_reached(self) -> int:
        return sum(t is not None for t in self.reached_at)


def funnel_entries(events: list[Event], actors: dict[str, str]) -> list[Entry]:
    """One entry per (actor, project, UTC day with a step-1 event), each step the earliest in order and window."""
    step_times: dict[tuple[str, str, int], list[datetime]] = defaultdict(list)
    impressions: dict[tuple[str, str, date], list[Event]] = defaultdict(list)
    for event in events:
        if event.event_name not in FUNNEL_STEPS or event.project_id is None:
            continue
        actor = actors[event.event_id]
        step = FUNNEL_STEPS.index(event.event_name) + 1
        step_times[(actor, event.project_id, step)].append(event.occurred_at)
        if step == 1:
            impressions[(actor, event.project_id, utc_day(event.occurred_at))].append(event)
    entries = []
    for (actor, project, day), firsts in impressions.items():
        first = min(firsts, key=lambda event: (event.occurred_at, event.event_id))
        t1 = first.occurred_at
        reached: list[datetime | None] = [t1]
        for step in range(2, 6):
            previous = reached[-1]
            candidates = [] if previous is None else step_times[(actor, project, step)]
            in_order = [t for t in candidates if previous is not None and previous <= t <= t1 + WINDOW]
            reached.append(min(in_order, default=None))
        entries.append(Entry(actor, project, day, first.platform, t1, tuple(reached)))
    return entries


def funnel_by(entries: list[Entry], group: str) -> Mart:
    """Five step rows per (day, platform) or (day, project_id) with entries: distinct actors per step."""
    reached: dict[tuple[date, str], list[set[str]]] = defaultdict(lambda: [set() for _ in FUNNEL_STEPS])
    for entry in entries:
        key = (entry.day, entry.platform if group == "platform" else entry.project_id)
        for step in range(entry.steps_reached):
            reached[key][step].add(entry.actor_id)
    mart: Mart = {}
    for (day, value), actors_per_step in reached.items():
        users = [len(actors) for actors in actors_per_step]
        for index, name in enumerate(FUNNEL_STEPS):
            previous = ratio(users[index], users[index - 1]) if index else 1.0
            mart[(day, value, index + 1)] = (name, users[index], previous, ratio(users[index], users[0]))
    return mart


def funnel_dropoff(funnel_daily: Mart) -> Mart:
    mart: Mart = {}
    for (day, platform, step), (name, users, _, _) in funnel_daily.items():
        assert isinstance(step, int)
        if step == len(FUNNEL_STEPS):
            continue
        next_name, next_users = funnel_daily[(day, platform, step + 1)][:2]
        assert isinstance(users, int)
        assert isinstance(next_users, int)
        dropped = users - next_users
        mart[(day, platform, step)] = (name, next_name, users, next_users, dropped, ratio(dropped, users))
    return mart


def kpi_daily(events: list[Event], actors: dict[str, str]) -> Mart:
    days = sorted({utc_day(event.occurred_at) for event in events})
    viewers: dict[date, set[str]] = defaultdict(set)
    supporters: dict[date, set[str]] = defaultdict(set)
    supports: dict[date, int] = defaultdict(int)
    for event in events:
        day = utc_day(event.occurred_at)
        if event.event_name == "project_view":
            viewers[day].add(actors[event.event_id])
        elif event.event_name == "payment_succeeded":
            supporters[day].add(actors[event.event_id])
            supports[day] += 1
    mart: Mart = {}
    day = days[0]
    while day <= days[-1]:
        earlier = {
            actor for other_day, actors_that_day in supporters.items() if other_day < day for actor in actors_that_day
        }
        repeat = len(supporters[day] & earlier)
        mart[(day,)] = (
            len(viewers[day]),
            len(supporters[day]),
            supports[day],
            ratio(len(supporters[day]), len(viewers[day])),
            repeat,
            ratio(repeat, len(supporters[day])),
        )
        day += timedelta(days=1)
    return mart


def kpi_support_amount_daily(events: list[Event]) -> Mart:
    amounts: dict[tuple[date, str], list[int]] = defaultdict(list)
    for event in events:
        if event.event_name == "payment_succeeded":
            amount, currency = event.properties["amount_minor"], event.properties["currency"]
            assert isinstance(amount, int)
            assert isinstance(currency, str)
            amounts[(utc_day(event.occurred_at), currency)].append(amount)
    return {key: (len(values), sum(values), sum(values) / len(values)) for key, values in amounts.items()}


@dataclass(frozen=True)
class ExpectedMarts:
    actors: dict[str, str]
    entries: list[Entry]
    funnel_daily: Mart
    funnel_project_daily: Mart
    funnel_dropoff_daily: Mart
    kpi_daily: Mart
    kpi_support_amount_daily: Mart


def expected_marts(events: list[Event]) -> ExpectedMarts:
    actors = actors_of(events)
    entries = funnel_entries(events, actors)
    funnel_daily = funnel_by(entries, "platform")
    return ExpectedMarts(
        actors=actors,
        entries=entries,
        funnel_daily=funnel_daily,
        funnel_project_daily=funnel_by(entries, "project_id"),
        funnel_dropoff_daily=funnel_dropoff(funnel_daily),
        kpi_daily=kpi_daily(events, actors),
        kpi_support_amount_daily=kpi_support_amount_daily(events),
    )
