"""Worker processes change nothing but speed: the same corpus, judged in-process and by a pool of worker processes
in many small chunks, gives the same accepted rows, duplicates and dead letters."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pipelines import sources
from pipelines.runs import RunStores, ingest_landing_files
from stores.warehouse import WarehouseAt
from tests.pipelines.conftest import query
from tests.pipelines.events import client_event, line


def corpus(rng: random.Random) -> bytes:
    """Valid events, repeats (same bytes) and conflicts (same id, other bytes) far apart, and garbage."""
    events = [client_event(rng.choice(["app_open", "project_view", "feed_impression"])) for _ in range(120)]
    lines = [line(event) for event in events]
    lines += [line(rng.choice(events)) for _ in range(30)]  # duplicates
    lines += [line({**event, "session_id": "s-other"}) for event in rng.sample(events, 10)]  # conflicts
    lines += [b"{broken", b"[]", b"", b"\xff\xfe", line(client_event(event_name="nope"))] * 4
    rng.shuffle(lines)
    return b"\r\n".join(lines[:100]) + b"\n" + b"\n".join(lines[100:])  # CRLF and LF line ends, no final break


Rows = list[tuple[Any, ...]]


def outcome(where: RunStores, root: Path) -> tuple[Rows, Rows, Rows, list[tuple[str, bytes]]]:
    # JSON compared as values (engines print it differently), rows in Python's order (collations differ)
    accepted = sorted(
        (*row[:4], json.loads(row[4]), row[5] and json.loads(row[5]))
        for row in query(
            where, "select event_id, raw, raw_sha256, source_ref, properties::varchar, context::varchar from raw.events"
        )
    )
    dead = sorted(
        (*row[:3], json.loads(row[3]), *row[4:])
        for row in query(
            where,
            "select dead_letter_id, source_ref, reason_code, errors::varchar, raw, raw_encoding "
            "from marts.dead_letter_events",
        )
    )
    audit = query(where, "select received, accepted, duplicates, dead_lettered from marts.ingestion_audit")
    files = sorted((p.name, p.read_bytes()) for p in (root / "dl").rglob("*.ndjson"))
    return accepted, dead, audit, files


@pytest.mark.slow
def test_worker_processes_give_the_verdicts_of_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, warehouse_at: WarehouseAt
) -> None:
    """In-process into DuckDB, then worker processes into each engine: the same outcome, row for row."""
    content = corpus(random.Random(5))
    outcomes = []
    for workers, target in ((1, tmp_path / "in-process.duckdb"), (2, warehouse_at)):
        root = tmp_path / f"workers-{workers}"
        (root / "landing").mkdir(parents=True)
        (root / "landing" / "a.ndjson").write_bytes(content)
        (root / "landing" / "b.ndjson").write_bytes(content[: len(content) // 3])  # the same events again, and more
        for name, hours_ago in (("a.ndjson", 2), ("b.ndjson", 1)):
            moment = time.time() // 3600 * 3600 - hours_ago * 3600
            os.utime(root / "landing" / name, (moment, moment))
        where = RunStores(target, root / "dl", root / "landing", oltp_dsn="unused")
        with monkeypatch.context() as patch:
            patch.setattr(sources, "CHUNK_LINES", 7)  # many chunks, so duplicates span chunks and workers
            audit = ingest_landing_files(where, "run-1", workers=workers)
        assert audit.received == audit.accepted + audit.duplicates + audit.dead_lettered
        outcomes.append(outcome(where, root))
    in_process, pooled = outcomes
    assert pooled == in_process
    accepted, dead, (counts,), _ = in_process
    assert counts[1] == len(accepted) == 120  # one row per event id, whichever of its lines came first
    assert counts[2] >= 30
    assert sum(reason == "event_id_conflict" for _, _, reason, _, _, _ in dead) >= 10
    assert {reason for _, _, reason, _, _, _ in dead} == {
        "malformed_json",
        "not_an_object",
        "unknown_event",
        "event_id_conflict",
    }


MAIN_MODULE = """
import os, sys
from pathlib import Path

with Path(sys.argv[1]).open("a") as imports:  # each process that imports this module as its main says so
    imports.write(f"{os.getpid()}\\n")

if __name__ == "__main__":
    from datetime import UTC, datetime
    from pipelines.ingestion import judged_chunks
    from pipelines.verdicts import Chunk

    chunks = [Chunk("s", index, [b"{}"] * 3, ("f", index), datetime.now(UTC)) for index in range(9)]
    verdicts = list(judged_chunks(chunks, "run", sys.argv[2], workers=3))
    print(os.getpid(), sum(verdict.received for verdict in verdicts), sum(len(verdict.dead) for verdict in verdicts))
"""


def test_no_worker_imports_the_main_module(tmp_path: Path) -> None:
    """Every worker starts with a bare main module: under Dagster or a benchmark, importing the parent's main
    module again costs each worker seconds of CPU (dagster's import) at every run."""
    script, imports = tmp_path / "main_module.py", tmp_path / "imports"
    script.write_text(MAIN_MODULE)
    done = subprocess.run(
        [sys.executable, str(script), str(imports), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert done.returncode == 0, done.stderr
    parent, received, dead = done.stdout.split()
    assert (received, dead) == ("27", "27")  # every line judged by the workers (`{}` is a dead letter)
    assert imports.read_text().split() == [parent]
