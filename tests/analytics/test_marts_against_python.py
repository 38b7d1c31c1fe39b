"""The funnel and KPI marts, built by dbt from a seeded event stream, equal an independent Python
computation of spec/analytics.md.

dbt runs with TZ=America/New_York over days that straddle the end of US daylight saving time: the
contract is in UTC, so nothing may depend on the session's time zone.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from pipelines.project import dbt_build
from stores import warehouse
from tests.analytics.event_stream import (
    EMPTY_DAY,
    FUNNEL_STEPS,
    US_DST_ENDS,
    WINDOW,
    Event,
    generate_events,
    write_raw_events,
)
from tests.analytics.marts_expected import Entry, ExpectedMarts, Mart, expected_marts, utc_day

ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT = ROOT / "dbt_project"
DBT = Path(sys.executable).with_name("dbt")
SEED = 20261127
MARTS = ("funnel_daily", "funnel_project_daily", "funnel_dropoff_daily", "kpi_daily", "kpi_support_amount_daily")
GRAIN = {
    "funnel_daily": "event_date, platform, step_index",
    "funnel_project_daily": "event_date, project_id, step_index",
    "funnel_dropoff_daily": "event_date, platform, from_step_index",
    "kpi_daily": "kpi_date",
    "kpi_support_amount_daily": "kpi_date, currency",
}
VALUES = {
    "funnel_daily": "step_name, users, conversion_from_previous, conversion_from_start",
    "funnel_project_daily": "step_name, users, conversion_from_previous, conversion_from_start",
    "funnel_dropoff_daily": "from_step_name, to_step_name, entered, converted, dropped, dropoff_rate",
    "kpi_daily": "viewers, supporters, supports, support_conversion_rate, repeat_supporters, repeat_support_rate",
    "kpi_support_amount_daily": "supports, gross_amount_minor, average_support_amount_minor",
}


@dataclass(frozen=True)
class BuiltMarts:
    expected: ExpectedMarts
    actual: dict[str, Mart]


@pytest.fixture(scope="module")
def events() -> list[Event]:
    return generate_events(SEED)


@pytest.fixture(scope="module")
def expected(events: list[Event]) -> ExpectedMarts:
    return expected_marts(events)


@pytest.fixture(scope="module")
def built(events: list[Event], expected: ExpectedMarts, tmp_path_factory: pytest.TempPathFactory) -> BuiltMarts:
    scratch = tmp_path_factory.mktemp("analytics")
    path = scratch / "warehouse.duckdb"
    write_raw_events(path, events)
    run_dbt_build(path, scratch)
    with warehouse.connect(path, read_only=True) as connection:
        actual = {}
        for mart in MARTS:
            rows = connection.execute(f"select {GRAIN[mart]}, {VALUES[mart]} from marts.{mart}").fetchall()  # noqa: S608
            width = GRAIN[mart].count(",") + 1
            actual[mart] = {tuple(row[:width]): tuple(row[width:]) for row in rows}
            assert len(actual[mart]) == len(rows), f"{mart}: duplicate grain"
    return BuiltMarts(expected, actual)


def run_dbt_build(path: Path, scratch: Path) -> None:
    """Build and test the marts under test and their parents (not the rest of the project), in a zone
    with daylight saving time: the marts must be UTC whatever the session's zone."""
    select = tuple(f"+{mart}" for mart in MARTS)
    result = dbt_build(path, scratch, select, environment={"TZ": "America/New_York"}, timeout=300)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def differences(expected: Mart, actual: Mart) -> list[str]:
    found = [f"missing {key}: {expected[key]}" for key in sorted(expected.keys() - actual.keys(), key=str)]
    found += [f"unexpected {key}: {actual[key]}" for key in sorted(actual.keys() - expected.keys(), key=str)]
    for key in sorted(expected.keys() & actual.keys(), key=str):
        if not values_equal(expected[key], actual[key]):
            found.append(f"{key}: expected {expected[key]}, got {actual[key]}")
    return found


def values_equal(expected: tuple[object, ...], actual: tuple[object, ...]) -> bool:
    if len(expected) != len(actual):
        return False
    for want, got in zip(expected, actual, strict=True):
        if isinstance(want, float) or isinstance(got, float):
            if not isinstance(want, int | float) or not isinstance(got, int | float) or abs(want - got) > 1e-12:
                return False
        elif want != got or type(want) is not type(got):
            return False
    return True


def stopped_before_step(
    entry: Entry, step: int, step_events: list[Event], after: timedelta, before: timedelta, from_window_end: bool
) -> bool:
    """The entry reached step - 1 but not `step`, though a step event lies in [base + after, base + before),
    base being the previous step's time (or t1 + 7 days when from_window_end)."""
    previous = entry.reached_at[step - 2]
    if previous is None or entry.reached_at[step - 1] is not None:
        return False
    base = entry.t1 + WINDOW if from_window_end else previous
    return any(base + after <= event.occurred_at < base + before for event in step_events)


def test_the_events_exercise_every_rule(events: list[Event], expected: ExpectedMarts) -> None:
    entries = expected.entries
    step_events: dict[tuple[str, str, int], list[Event]] = defaultdict(list)
    for event in events:
        if event.event_name in FUNNEL_STEPS and event.project_id is not None:
            step = FUNNEL_STEPS.index(event.event_name) + 1
            step_events[(expected.actors[event.event_id], event.project_id, step)].append(event)

    def stopped(after: timedelta, before: timedelta, from_window_end: bool, spanning_dst: bool = False) -> int:
        return sum(
            stopped_before_step(
                entry, k, step_events[(entry.actor_id, entry.project_id, k)], after, before, from_window_end
            )
            for entry in entries
            for k in range(2, 6)
            if not spanning_dst or entry.t1 < US_DST_ENDS < entry.t1 + WINDOW
        )

    last_steps = [entry.steps_reached for entry in entries]
    assert all(last_steps.count(step) >= 3 for step in range(1, 6)), "every step should end some entries"
    assert stopped(-timedelta(days=1), timedelta(0), from_window_end=False) >= 3, "too few out-of-order steps"
    assert stopped(timedelta(microseconds=1), timedelta(days=1), from_window_end=True) >= 3, "too few late steps"
    second = timedelta(seconds=1)
    assert stopped(second, 2 * second, from_window_end=True) >= 1, "no step one second past the window"
    hour = timedelta(hours=1)
    assert stopped(second, hour, from_window_end=True, spanning_dst=True) >= 2, "no step in the DST trap"
    at_edge = [entry for entry in entries if entry.t1 + WINDOW in entry.reached_at[1:]]
    assert at_edge, "no step exactly at t1 + 7 days"

    stitched = [e for e in events if e.user_id is None and not expected.actors[e.event_id].startswith("anon:")]
    assert len({expected.actors[e.event_id] for e in stitched}) >= 5, "too few stitched actors"
    users_per_device: dict[str, set[str]] = defaultdict(set)
    for event in events:
        if event.user_id is not None and event.anonymous_id is not None:
            users_per_device[event.anonymous_id].add(event.user_id)
    assert sum(len(users) > 1 for users in users_per_device.values()) >= 2, "no device shared by two users"

    platforms_at_instant: dict[tuple[str, str | None, datetime], set[str]] = defaultdict(set)
    for event in events:
        if event.event_name == "feed_impression":
            platforms_at_instant[(expected.actors[event.event_id], event.project_id, event.occurred_at)].add(
                event.platform
            )
    assert any(len(platforms) > 1 for platforms in platforms_at_instant.values()), "no platform tie"
    entry_days: dict[tuple[str, str], set[date]] = defaultdict(set)
    for entry in entries:
        entry_days[(entry.actor_id, entry.project_id)].add(entry.day)
    assert sum(len(days) > 1 for days in entry_days.values()) >= 5, "too few actors entering a project on two days"
    assert len({entry.platform for entry in entries}) == 3
    assert len(entries) > 200

    event_days = {utc_day(event.occurred_at) for event in events}
    assert EMPTY_DAY not in event_days
    assert min(event_days) < EMPTY_DAY < max(event_days), "the empty day is not inside the span"
    assert expected.kpi_daily[(EMPTY_DAY,)] == (0, 0, 0, None, 0, None)
    assert sum(row[4] for row in expected.kpi_daily.values() if isinstance(row[4], int)) >= 5, "few repeat supporters"
    assert {key[1] for key in expected.kpi_support_amount_daily} == {"EUR", "USD"}


@pytest.mark.slow
@pytest.mark.parametrize("mart", MARTS)
def test_the_mart_equals_the_python_computation(built: BuiltMarts, mart: str) -> None:
    expected: Mart = getattr(built.expected, mart)
    found = differences(expected, built.actual[mart])
    assert not found, f"{mart}: {len(found)} differences, first ones:\n" + "\n".join(found[:15])
    assert expected, f"{mart} is empty"
