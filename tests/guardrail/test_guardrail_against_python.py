"""The guardrail marts built by dbt on random events equal rule v1 computed independently in Python."""

from __future__ import annotations

import csv
import json
import random
import subprocess
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from pipelines.project import dbt_build as build
from pipelines.warehouse import connect
from tests.guardrail.reference_rule import Action, Event, State, Trace, evaluate

ROOT = Path(__file__).resolve().parents[2]
DBT = ROOT / ".venv" / "bin" / "dbt"
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


def write_raw_events(warehouse: Path, events: list[Event], scratch: Path) -> None:
    rows = scratch / "events.csv"
    with rows.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(raw_row(events[0])))
        writer.writeheader()
        writer.writerows(raw_row(event) for event in events)
    with connect(warehouse) as connection:
        connection.execute(
            "insert into raw.events by name select * from read_csv(?, header = true, all_varchar = true)", [str(rows)]
        )


def raw_row(event: Event) -> dict[str, str | None]:
    """The raw.events columns the models read (the others stay null)."""
    at = event.occurred_at.isoformat()
    return {
        "event_id": event.event_id,
        "event_name": event.event_name,
        "schema_version": "1.0",
        "occurred_at": at,
        "received_at": at,
        "platform": "ios",
        "user_id": event.user_id,
        "anonymous_id": event.anonymous_id,
        "project_id": event.project_id,
        "properties": json.dumps(properties(event)),
        "raw": "{}",
        "raw_sha256": "0" * 64,
        "source": "test",
        "source_ref": "guardrail",
        "run_id": "run-1",
    }


def dbt_build(warehouse: Path, scratch: Path) -> subprocess.CompletedProcess[str]:
    environment = {"PATRONAGE_WAREHOUSE": str(warehouse), "PATRONAGE_DBT_TARGET": "duckdb"}
    return build(environment, scratch, ("+bitrate_guardrail_actions", "+bitrate_guardrail_state"), timeout=600)


def marts(warehouse: Path) -> tuple[list[Action], list[State]]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        actions = connection.execute(
            "select project_id, decided_on, action, effective_from, recovery_window_ends, viewers, supporters,"
            " conversion_rate, delivered_gb, est_monthly_savings_gb, rule_version"
            " from marts.bitrate_guardrail_actions order by project_id, decided_on"
        ).fetchall()
        states = connection.execute(
            "select project_id, level, max_rendition, since, recovery_window_ends"
            " from marts.bitrate_guardrail_state order by project_id"
        ).fetchall()
    return [Action(*row) for row in actions], [State(*row) for row in states]


def assert_exercised(trace: Trace) -> None:
    """The data must reach every branch of the rule, or equality would prove little."""
    assert trace.tightened >= 3
    assert trace.loosened >= 3
    assert trace.blocked_loosening >= 1
    assert trace.ineligible_days >= 1
    assert trace.ineligible_days_that_would_change >= 1
    assert trace.held_at_540p_in_band >= 1
    assert trace.band_loosened_360p_to_540p >= 1
    assert trace.empty_days >= 1
    assert trace.at_threshold == {"viewers", "0.002", "0.005", "0.0075"}


@pytest.mark.slow
def test_guardrail_marts_equal_the_rule_computed_in_python(tmp_path: Path) -> None:
    events = synthetic_events(seed=20261127)
    expected_actions, expected_states, trace = evaluate(events)
    assert_exercised(trace)
    warehouse = tmp_path / "warehouse.duckdb"
    write_raw_events(warehouse, events, tmp_path)

    result = dbt_build(warehouse, tmp_path)

    assert result.returncode == 0, result.stdout[-5_000:]
    actions, states = marts(warehouse)
    assert states == expected_states
    assert [_exact(action) for action in actions] == [_exact(action) for action in expected_actions]
    for action, expected in zip(actions, expected_actions, strict=True):
        assert action.conversion_rate == pytest.approx(expected.conversion_rate, rel=1e-12)
        assert action.delivered_gb == pytest.approx(expected.delivered_gb, rel=1e-12)
        assert action.est_monthly_savings_gb == pytest.approx(expected.est_monthly_savings_gb, rel=1e-9)


def _exact(action: Action) -> tuple[object, ...]:
    """The columns compared exactly (the doubles are compared with a tolerance)."""
    return (
        action.project_id,
        action.decided_on,
        action.action,
        action.effective_from,
        action.recovery_window_ends,
        action.viewers,
        action.supporters,
        action.rule_version,
    )
