"""The guardrail marts built by dbt on random events equal rule v1 computed independently in Python."""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import duckdb
import pytest

from pipelines.project import dbt_build as build
from stores.warehouse import connect

# Re-exported: tests/analytics/corpus.py takes them from here until it moves (tests/test_layout.py PENDING).
from tests.guardrail.event_stream import properties, synthetic_events
from tests.guardrail.reference_rule import Action, Event, State, Trace, evaluate

ROOT = Path(__file__).resolve().parents[2]
DBT = ROOT / ".venv" / "bin" / "dbt"


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
    return build(warehouse, scratch, ("+bitrate_guardrail_actions", "+bitrate_guardrail_state"), timeout=600)


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
