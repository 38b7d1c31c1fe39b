"""The `patronage` console script, run as a user runs it."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg2
import pytest

from api.auth import decode_token
from api.settings import settings_from
from tests.conftest import _dsn, recreate_database

SECRET = "cli-secret-" + "c" * 40


def patronage(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "patronage.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_token_mints_a_token_the_api_accepts(tmp_path: Path) -> None:
    env = {"PATRONAGE_DATA_DIR": str(tmp_path), "PATRONAGE_JWT_SECRET": SECRET}
    user = uuid.uuid4()
    result = patronage("token", "--role", "creator", "--sub", str(user), env=env)
    assert result.returncode == 0, result.stderr
    principal = decode_token(settings_from(env).auth, result.stdout.strip())
    assert principal.user_id == user
    assert principal.role.value == "creator"


def test_bad_configuration_exits_2_with_a_clear_message(tmp_path: Path) -> None:
    result = patronage("db", "current", env={"PATRONAGE_DATA_DIR": str(tmp_path), "DATABASE_URL": "mysql://x@y/z"})
    assert result.returncode == 2
    assert "DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_setting_a_command_finds_wrong_exits_2_with_a_clear_message(tmp_path: Path) -> None:
    """Dagster's storage URL only in `.env` passes loading (it is a valid URL), and `pipeline run` refuses it
    before it runs anything: the same one-line message and status as a setting refused while loading."""
    env = {key: value for key, value in os.environ.items() if key != "PATRONAGE_DAGSTER_STORAGE_URL"}
    (tmp_path / ".env").write_text("PATRONAGE_DAGSTER_STORAGE_URL=postgresql+psycopg2://dagster@localhost/runs\n")
    result = subprocess.run(
        [sys.executable, "-m", "patronage.cli", "pipeline", "run"],
        env={**env, "PATRONAGE_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(Path(__file__).parents[2])},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    message = "patronage pipeline: configuration error: PATRONAGE_DAGSTER_STORAGE_URL must be in the environment"
    assert result.stderr.strip().splitlines()[-1].startswith(message)


def test_db_current_against_a_given_server(tmp_path: Path, database_url: str) -> None:
    env = {"PATRONAGE_DATA_DIR": str(tmp_path), "PATRONAGE_JWT_SECRET": SECRET, "DATABASE_URL": database_url}
    result = patronage("db", "current", env=env)
    assert result.returncode == 0, result.stderr
    assert "(head)" in result.stdout


def test_demo_outside_a_source_checkout_says_where_it_runs(tmp_path: Path) -> None:
    """An installed wheel has no `devtools`: one clear line, no traceback."""
    without_devtools = "import sys; sys.modules['devtools'] = None; from patronage.cli import main; sys.exit(main())"
    result = subprocess.run(
        [sys.executable, "-c", without_devtools, "demo", "--once"],
        env={**os.environ, "PATRONAGE_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "patronage demo: the demo runs from a source checkout (`make demo`), not from an installed package"
    ]


def run_demo(env: dict[str, str]) -> str:
    """`patronage demo --once` as a user runs it (no DATABASE_URL: the embedded PostgreSQL); what every run shows."""
    result = subprocess.run(
        [sys.executable, "-m", "patronage.cli", "demo", "--once", "--port", "0"],
        env={**{k: v for k, v in os.environ.items() if k != "DATABASE_URL"}, **env},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "supports by final status" in result.stdout
    assert "pipeline run succeeded" in result.stdout
    # The local provider records the dispute and Stripe's fees: every category of the demo's days matches, and so
    # does the balance.
    api_check = re.search(
        r"^  reconciliation \d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d \(API check\): (.*)$", result.stdout, flags=re.MULTILINE
    )
    assert api_check is not None
    assert {item.split("=")[1] for item in api_check.group(1).split(", ")} == {"matched"}
    assert {"charge=matched", "refund=matched", "dispute=matched"} <= set(api_check.group(1).split(", "))
    assert re.search(r"^  provider balance EUR: journal (\d+) = Stripe's net \1: matched", result.stdout, re.MULTILINE)
    assert "funnel (marts.funnel_daily" in result.stdout
    assert "dashboards: file://" in result.stdout
    return result.stdout


def assert_checks_as_announced(shown: str, fresh: bool) -> None:
    """On a fresh data dir the demo stages the dead-letter alert (its broken events' reasons are new) and says so;
    its rate stays under the threshold, so a re-run's checks all pass. A failed check is named with its reason."""
    failed = re.findall(r"^ {6}failed check (.*)$", shown, flags=re.MULTILINE)
    counts = re.search(r"asset checks: (\d+) passed, (\d+) failed", shown)
    assert counts is not None
    assert int(counts.group(1)) > 0
    assert int(counts.group(2)) == len(failed)
    if not fresh:
        assert failed == []
        return
    assert "staged: a buggy build sent 2 broken events" in shown
    (line,) = failed
    assert line.startswith("landing_table_events dead_letter_rate (warn): event_landing: 2 of ")
    assert "new reasons: not_an_object, schema_violation" in line
    rate = re.search(r"\((\d+\.\d+)%, threshold (\d+\.\d+)%\)", line)
    assert rate is not None
    assert float(rate.group(1)) < float(rate.group(2))


def assert_history_spread(warehouse: Path, shown: str) -> None:
    """The demo's traffic spans its 7 days: viewers, payments and whole funnels on most days, not one spike (the
    local provider's test clock dates each payment on its supporter's day); a project capped by the guardrail and
    one whose cap was lifted, and the feed plays the capped one's video at its cap."""
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as connection:
        viewers = connection.execute("select kpi_date, viewers, supports from marts.kpi_daily").fetchall()
        funnel = dict(
            connection.execute(
                "select event_date, min(users) from marts.funnel_daily where step_index in (1, 4) group by 1"
            ).fetchall()
        )
        converted = connection.execute(
            "select count(distinct event_date) from marts.funnel_daily where step_index = 5 and users > 0"
        ).fetchone()
        actions = connection.execute(
            "select project_id, action from marts.bitrate_guardrail_actions order by project_id, decided_on"
        ).fetchall()
        capped = connection.execute(
            "select project_id, max_rendition from marts.bitrate_guardrail_state where level <> 'uncapped'"
        ).fetchall()
    assert len(viewers) >= 7
    assert sum(1 for _, seen, _ in viewers if seen > 0) >= 6, viewers
    assert sum(1 for _, _, supports in viewers if supports > 0) >= 5, viewers
    assert sum(1 for users in funnel.values() if users > 0) >= 6, funnel  # entries that reached checkout
    assert converted is not None
    assert converted[0] >= 4
    by_project: dict[str, list[str]] = {}
    for project_id, action in actions:
        by_project.setdefault(project_id, []).append(action)
    assert any(done[0].startswith("cap_") and done[-1] == "lift_cap" for done in by_project.values()), actions
    assert capped, "no project is capped"
    feed = re.search(r"^  playback in the feed [^:]*: (.*)$", shown, flags=re.MULTILINE)
    assert feed is not None
    assert any(f"{project_id[:8]}: {rendition}" in feed.group(1) for project_id, rendition in capped), feed.group(1)


@pytest.mark.slow
def test_demo_runs_on_embedded_defaults_twice(tmp_path: Path) -> None:
    for run in range(2):
        shown = run_demo({"PATRONAGE_DATA_DIR": str(tmp_path / "data")})
        assert_checks_as_announced(shown, fresh=run == 0)
        assert_history_spread(tmp_path / "data" / "warehouse.duckdb", shown)
        recon = re.findall(
            r"^ {4}\d{4}-\d\d-\d\d +[A-Z]{3} +(charge|refund|dispute) +(?:-?\d+ +){4}(\w+)$",
            shown,
            flags=re.MULTILINE,
        )
        assert {category for category, _ in recon} >= {"charge", "dispute"}, "reconciliation rows are missing"
        assert {status for _, status in recon} == {"matched"}  # gross and fee; the marts reconcile, re-runs included
        rollforward = re.findall(
            r"^ {4}\d{4}-\d\d-\d\d +EUR +-?\d+ +(-?\d+) +-?\d+ +(-?\d+) +(\w+)$", shown, flags=re.MULTILINE
        )
        assert rollforward, "the balance roll-forward is missing from the summary"
        assert all(journal == provider and status == "matched" for journal, provider, status in rollforward)
    assert (tmp_path / "data" / "pg" / "PG_VERSION").exists()


@pytest.mark.slow
def test_demo_runs_with_its_warehouse_on_postgresql(tmp_path: Path, admin_url: str, worker_id: str) -> None:
    """PATRONAGE_WAREHOUSE_URL: ingestion, marts, reconciliation and dashboards on PostgreSQL, no DuckDB file."""
    prefix = os.environ.get("PATRONAGE_TEST_DB_PREFIX", "patronage_test")
    warehouse_url = _dsn(asyncio.run(recreate_database(admin_url, f"{prefix}_demo_warehouse_{worker_id}")))
    run_demo({"PATRONAGE_DATA_DIR": str(tmp_path / "data"), "PATRONAGE_WAREHOUSE_URL": warehouse_url})
    assert not list((tmp_path / "data").rglob("*.duckdb*"))
    with psycopg2.connect(warehouse_url) as connection, connection.cursor() as cursor:
        cursor.execute("select (select count(*) from raw.events), (select count(*) from marts.funnel_daily)")
        counts = cursor.fetchone()
    assert counts is not None
    assert min(counts) > 0, counts
