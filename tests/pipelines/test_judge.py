"""The validation path's decisions, input by input, through a real (temporary) DuckDB warehouse."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pipelines.ingestion import ingest
from pipelines.verdicts import Chunk
from stores.warehouse import WarehouseAt, open_warehouse
from tests.pipelines.events import client_event, line

NOW = datetime.now(UTC)


@dataclass(frozen=True)
class Dead:
    reason_code: str
    errors: list[dict[str, str]]
    raw: bytes
    event_id: str | None
    event_name: str | None
    source_ref: str


@dataclass(frozen=True)
class Judged:
    accepted: list[bytes]
    duplicates: int
    dead: list[Dead]


def judge(where: WarehouseAt, *runs: list[bytes] | Chunk, received_at: datetime = NOW) -> tuple[Judged, int]:
    """Ingest each run in turn into the (fresh) warehouse; the last run's outcome, dead letters in processing order."""
    with tempfile.TemporaryDirectory() as tmp, open_warehouse(where) as warehouse:
        for number, run in enumerate(runs, start=1):
            chunk = run if isinstance(run, Chunk) else Chunk("landing_files", 0, run, ("f.ndjson", 1), received_at)
            audit = ingest(
                warehouse, Path(tmp) / "dl", run_id=f"run-{number}", source=chunk.source, chunks=[chunk], started_at=NOW
            )
        accepted = warehouse.rows("select raw from raw.events where run_id = ? order by source_ref", [audit.run_id])
        dead: list[Any] = warehouse.rows(
            "select reason_code, errors, raw, event_id, event_name, source_ref from marts.dead_letter_events "
            "where run_id = ? order by source_ref",
            [audit.run_id],
        )
    return (
        Judged(
            [raw.encode() for (raw,) in accepted],
            audit.duplicates,
            [Dead(reason, json.loads(errors), raw.encode(), *rest) for reason, errors, raw, *rest in dead],
        ),
        audit.received,
    )


def inputs(*raws: bytes) -> list[bytes]:
    return list(raws)


def test_valid_events_are_accepted_and_bad_ones_dead_lettered_with_their_reason(warehouse_at: WarehouseAt) -> None:
    good = line(client_event())
    oversized = line(client_event(context={"blob": "x" * 40_000}))
    judged, received = judge(
        warehouse_at, inputs(good, b"{not json", b"[1]", oversized, line(client_event(event_name="nope")))
    )
    assert received == 5
    assert judged.accepted == [good]
    assert [d.reason_code for d in judged.dead] == [
        "malformed_json",
        "not_an_object",
        "size_violation",
        "unknown_event",
    ]
    assert all(d.raw for d in judged.dead)
    assert judged.dead[3].errors


def test_an_oversized_line_gets_the_first_reason_in_contract_order_and_lists_every_violation(
    warehouse_at: WarehouseAt,
) -> None:
    """events.md: malformed_json, not_an_object, then size_violation, …; `errors` lists every violation found."""
    blob = {"blob": "x" * 40_000}
    stale = client_event(occurred_at=NOW - timedelta(days=31), context=blob)
    unknown = client_event(event_name="nope", context=blob)
    raws = (b"x" * 40_000, json.dumps([client_event(context=blob)]).encode(), line(stale), line(unknown))
    judged, _ = judge(warehouse_at, inputs(*raws))
    assert [(d.reason_code, [error["reason"] for error in d.errors]) for d in judged.dead] == [
        ("malformed_json", ["malformed_json", "size_violation"]),
        ("not_an_object", ["not_an_object", "size_violation"]),
        ("size_violation", ["size_violation", "stale_event"]),
        ("size_violation", ["size_violation", "unknown_event"]),
    ]
    assert [(d.event_id, d.event_name) for d in judged.dead[2:]] == [
        (stale["event_id"], "project_view"),
        (unknown["event_id"], "nope"),
    ]


def test_byte_identical_repeats_are_duplicates_and_other_bytes_conflicts(warehouse_at: WarehouseAt) -> None:
    event = client_event()
    same = line(event)
    other = line({**event, "properties": {"source": "search"}})
    judged, received = judge(warehouse_at, inputs(same, same, other))
    assert (received, len(judged.accepted), judged.duplicates) == (3, 1, 1)
    assert [d.reason_code for d in judged.dead] == ["event_id_conflict"]
    assert judged.dead[0].event_id == event["event_id"]


def test_events_accepted_by_earlier_runs_count(warehouse_at: WarehouseAt) -> None:
    event = client_event()
    judged, _ = judge(warehouse_at, inputs(line(event)), inputs(line(event)))
    assert (len(judged.accepted), judged.duplicates, len(judged.dead)) == (0, 1, 0)


def test_an_earlier_event_with_other_bytes_is_a_conflict(warehouse_at: WarehouseAt) -> None:
    event = client_event()
    judged, _ = judge(warehouse_at, inputs(line(event)), inputs(line({**event, "properties": {"source": "search"}})))
    assert (len(judged.accepted), judged.duplicates) == (0, 0)
    assert [d.reason_code for d in judged.dead] == ["event_id_conflict"]


def test_timestamps_are_judged_against_received_at(warehouse_at: WarehouseAt) -> None:
    received_at = datetime(2026, 11, 1, tzinfo=UTC)
    future = client_event(occurred_at=received_at + timedelta(hours=25))
    stale = client_event(occurred_at=received_at - timedelta(days=31))
    fine = client_event(occurred_at=received_at - timedelta(days=29))
    judged, _ = judge(warehouse_at, inputs(line(future), line(stale), line(fine)), received_at=received_at)
    assert [d.reason_code for d in judged.dead] == ["future_timestamp", "stale_event"]
    assert len(judged.accepted) == 1


def test_clients_cannot_land_server_events(warehouse_at: WarehouseAt) -> None:
    forged = client_event(
        event_name="payment_succeeded",
        platform="server",
        app_version=None,
        session_id=None,
        user_id="7b0e2d7c-1a4e-4f55-9d1c-5a3e6e1c2f10",
        properties={
            "support_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
            "amount_minor": 100,
            "currency": "EUR",
            "payment_intent_id": "pi_1",
        },
    )
    raw = line(forged)
    raws = [raw, raw.replace(b"pi_1", b"pi_2")]
    refs = ["event_landing:1", "event_landing:2"]
    judged, _ = judge(warehouse_at, Chunk("event_landing", 0, raws, refs, [NOW, NOW], [False, True]))
    assert len(judged.accepted) == 1
    assert [d.reason_code for d in judged.dead] == ["schema_violation"]
    assert judged.dead[0].source_ref == "event_landing:2"
