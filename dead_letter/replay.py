"""Replay: re-validate dead letters with the current contract; rescued ones join raw.events and are
marked (replayed_at, replay_run_id). Nothing is deleted; what still fails stays as it was."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from dead_letter.store import original_bytes
from pipelines.storage import Location, Where


@dataclass(frozen=True)
class ReplayResult:
    run_id: str
    considered: int
    rescued: int
    duplicates: int
    still_dead: int


def replay(
    connection: duckdb.DuckDBPyConnection,
    dead_letter_dir: Where,
    run_id: str,
    *,
    reason: str | None = None,
    ids: list[str] | None = None,
) -> ReplayResult:
    from pipelines.ingestion import Input, _insert_accepted, judge, known_events  # the one validation path

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
    rows = connection.execute(query + " order by received_at, source_ref", params).fetchall()
    by_ref = {}
    inputs = []
    for dead_letter_id, source, source_ref, received_at, raw, encoding in rows:
        item = Input(source, source_ref, received_at, original_bytes(raw, encoding))
        by_ref[(source, source_ref)] = dead_letter_id
        inputs.append(item)
    judged, received = judge(inputs, run_id, known_events(connection))
    still_dead = {(letter.source, letter.source_ref) for letter in judged.dead}
    replayed = [dead_letter_id for key, dead_letter_id in by_ref.items() if key not in still_dead]
    now = datetime.now(UTC)
    connection.execute("begin transaction")
    try:
        _insert_accepted(connection, run_id, judged.accepted)
        for dead_letter_id in replayed:
            connection.execute(
                "update marts.dead_letter_events set replayed_at = ?, replay_run_id = ? where dead_letter_id = ?",
                [now, run_id, dead_letter_id],
            )
        connection.execute("commit")
    except BaseException:
        connection.execute("rollback")
        raise
    if replayed:
        log = "".join(json.dumps({"dead_letter_id": i, "replay_run_id": run_id}) + "\n" for i in replayed)
        Location(dead_letter_dir).write(f"replays/{run_id}.ndjson", log.encode("utf-8"))
    return ReplayResult(run_id, received, len(judged.accepted), judged.duplicates, len(judged.dead))
