"""Dead-letter replay after a contract fix: rescued records join raw.events and are marked, never deleted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.replay import replay
from pipelines.runs import ingest_landing_files
from stores import warehouse
from tests.conftest import JWT_SECRET
from tests.pipelines.conftest import LocalRunStores, query
from tests.pipelines.events import client_event, line, refuse_app_open


def ingest_with_a_buggy_contract(where: LocalRunStores, lines: list[bytes], monkeypatch: pytest.MonkeyPatch) -> None:
    """Yesterday's contract wrongly refused app_open events."""
    (where.landing_dir / "in.ndjson").write_bytes(b"\n".join(lines) + b"\n")
    with monkeypatch.context() as patch:
        refuse_app_open(patch)
        audit = ingest_landing_files(where, "run-1")
    assert audit.dead_lettered == 3


def test_replay_rescues_what_the_current_contract_accepts(
    where: LocalRunStores, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = [line(client_event("app_open")) for _ in range(2)]
    ingest_with_a_buggy_contract(where, [*opened, b"{still broken"], monkeypatch)

    with warehouse.open_warehouse(where.warehouse) as store:
        result = replay(store, where.dead_letter_dir, "replay-1")
        assert (result.considered, result.rescued, result.still_dead) == (3, 2, 1)
        marked = store.rows("select reason_code, replay_run_id from marts.dead_letter_events order by reason_code")
        assert marked == [("malformed_json", None), ("schema_violation", "replay-1"), ("schema_violation", "replay-1")]
        stored = store.rows("select raw, run_id from raw.events order by raw")
        assert sorted(raw.encode() for raw, _ in stored) == sorted(opened)
        assert {run_id for _, run_id in stored} == {"replay-1"}

        again = replay(store, where.dead_letter_dir, "replay-2")
        assert (again.considered, again.rescued) == (1, 0)
    log = where.dead_letter_dir / "replays" / "replay-1.ndjson"
    assert len(log.read_text().splitlines()) == 2
    assert len(list(where.dead_letter_dir.rglob("date=*/*.ndjson"))) == 1  # the records themselves are untouched


def test_dead_letter_cli(where: LocalRunStores, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ingest_with_a_buggy_contract(where, [line(client_event("app_open")), b"[]", b"{"], monkeypatch)
    env = {
        **os.environ,
        "PATRONAGE_DATA_DIR": str(tmp_path),
        "PATRONAGE_WAREHOUSE_URL" if warehouse.is_postgres(where.warehouse) else "PATRONAGE_WAREHOUSE": str(
            where.warehouse
        ),
        "PATRONAGE_DEAD_LETTER_DIR": str(where.dead_letter_dir),
        "PATRONAGE_JWT_SECRET": JWT_SECRET,
    }

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "patronage.cli", "dead-letter", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    listed = cli("list")
    assert listed.returncode == 0, listed.stderr
    assert len(listed.stdout.splitlines()) == 3
    assert len(cli("list", "--reason", "not_an_object").stdout.splitlines()) == 1
    ((dead_letter_id,),) = query(
        where, "select dead_letter_id from marts.dead_letter_events where reason_code = 'not_an_object'"
    )
    shown = json.loads(cli("show", dead_letter_id).stdout)
    assert shown["raw"] == "[]"
    assert cli("show", "nope").returncode == 1
    replayed = json.loads(cli("replay").stdout)
    assert (replayed["rescued"], replayed["still_dead"]) == (1, 2)
