"""Replay: re-judge dead letters by the ingestion's one validation path (`stage`, `settle`) with the current
contract; rescued ones join raw.events and are marked (replayed_at, replay_run_id). Nothing is deleted; what still
fails stays as it was."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import groupby
from pathlib import Path
from typing import Any

from dead_letter.store import DeadLetter, original_bytes
from pipelines.ingestion import settle, stage
from pipelines.verdicts import Chunk
from stores.files import Location, PathOrUrl
from stores.warehouse import Warehouse


@dataclass(frozen=True)
class ReplayResult:
    run_id: str
    considered: int
    rescued: int
    duplicates: int
    still_dead: int


def _chunks(rows: list[tuple[Any, ...]]) -> Iterator[Chunk]:
    """The dead letters in processing order, one chunk per run of the same source."""
    seq = 0
    for source, group in groupby(rows, key=lambda row: row[1]):
        members = list(group)
        yield Chunk(
            source,
            seq,
            [original_bytes(raw, encoding) for _, _, _, _, raw, encoding in members],
            [source_ref for _, _, source_ref, _, _, _ in members],
            [received_at for _, _, _, received_at, _, _ in members],
        )
        seq += len(members)


def replay(
    warehouse: Warehouse,
    dead_letter_dir: PathOrUrl,
    run_id: str,
    *,
    reason: str | None = None,
    ids: list[str] | None = None,
) -> ReplayResult:
    query = (
        "select dead_letter_id, source, source_ref, received_at, raw, raw_encoding from marts.dead_letter_events "
        "where replayed_at is null"
    )
    params: list[object] = []
    if reason:
        query += " and reason_code = ?"
        params.append(reason)
    if ids:
        query += f" and dead_letter_id in ({', '.join('?' for _ in ids)})"
        params.extend(ids)
    rows = warehouse.rows(query + " order by received_at, source_ref", params)
    still_dead: set[tuple[str, str]] = set()

    def keep_dead(letters: list[DeadLetter]) -> None:
        still_dead.update((letter.source, letter.source_ref) for letter in letters)

    sources = sorted({row[1] for row in rows})
    with (
        tempfile.TemporaryDirectory(prefix="patronage-replay-", dir=warehouse.spool_root()) as spool,
        warehouse.transaction(),
    ):
        received = stage(warehouse, _chunks(rows), run_id, Path(spool), keep_dead, workers=1)
        duplicates = settle(warehouse, run_id, sources, keep_dead) if sources else 0
        rescued = int(warehouse.scalar("select count(*) from raw.events where run_id = ?", [run_id]) or 0)
        replayed = [row[0] for row in rows if (row[1], row[2]) not in still_dead]
        marks = {"replayed_at": datetime.now(UTC), "replay_run_id": run_id}
        warehouse.mark("marts.dead_letter_events", "dead_letter_id", replayed, marks)
    if replayed:
        log = "".join(json.dumps({"dead_letter_id": i, "replay_run_id": run_id}) + "\n" for i in replayed)
        Location(dead_letter_dir).write(f"replays/{run_id}.ndjson", log.encode("utf-8"))
    return ReplayResult(run_id, received, rescued, duplicates, len(still_dead))
