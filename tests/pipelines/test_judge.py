"""The validation path's decisions, input by input (no databases)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from pipelines.ingestion import Input, judge
from tests.pipelines.events import client_event, line

NOW = datetime.now(UTC)


def inputs(*raws: bytes, received_at: datetime = NOW) -> list[Input]:
    return [Input("landing_files", f"f.ndjson:{n}", received_at, raw) for n, raw in enumerate(raws, start=1)]


def nothing_known(_: list[str]) -> dict[str, str]:
    return {}


def test_valid_events_are_accepted_and_bad_ones_dead_lettered_with_their_reason() -> None:
    good = line(client_event())
    oversized = line(client_event(context={"blob": "x" * 40_000}))
    judged, received = judge(
        inputs(good, b"{not json", b"[1]", oversized, line(client_event(event_name="nope"))), "run", nothing_known
    )
    assert received == 5
    assert [item.raw for item, _, _ in judged.accepted] == [good]
    assert [d.reason_code for d in judged.dead] == [
        "malformed_json",
        "not_an_object",
        "size_violation",
        "unknown_event",
    ]
    assert all(d.raw for d in judged.dead)
    assert judged.dead[3].errors


def test_an_oversized_line_gets_the_first_reason_in_contract_order_and_lists_every_violation() -> None:
    """events.md: malformed_json, not_an_object, then size_violation, …; `errors` lists every violation found."""
    blob = {"blob": "x" * 40_000}
    stale = client_event(occurred_at=NOW - timedelta(days=31), context=blob)
    unknown = client_event(event_name="nope", context=blob)
    raws = (b"x" * 40_000, json.dumps([client_event(context=blob)]).encode(), line(stale), line(unknown))
    judged, _ = judge(inputs(*raws), "run", nothing_known)
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


def test_byte_identical_repeats_are_duplicates_and_other_bytes_conflicts() -> None:
    event = client_event()
    same = line(event)
    other = line({**event, "properties": {"source": "search"}})
    judged, received = judge(inputs(same, same, other), "run", nothing_known)
    assert (received, len(judged.accepted), judged.duplicates) == (3, 1, 1)
    assert [d.reason_code for d in judged.dead] == ["event_id_conflict"]
    assert judged.dead[0].event_id == event["event_id"]


def test_events_accepted_by_earlier_runs_count() -> None:
    event = client_event()
    import hashlib

    known = {event["event_id"]: hashlib.sha256(line(event)).hexdigest()}
    judged, _ = judge(inputs(line(event)), "run", lambda ids: {i: known[i] for i in ids if i in known})
    assert (len(judged.accepted), judged.duplicates, len(judged.dead)) == (0, 1, 0)


def test_timestamps_are_judged_against_received_at() -> None:
    received_at = datetime(2026, 11, 1, tzinfo=UTC)
    future = client_event(occurred_at=received_at + timedelta(hours=25))
    stale = client_event(occurred_at=received_at - timedelta(days=31))
    fine = client_event(occurred_at=received_at - timedelta(days=29))
    judged, _ = judge(inputs(line(future), line(stale), line(fine), received_at=received_at), "run", nothing_known)
    assert [d.reason_code for d in judged.dead] == ["future_timestamp", "stale_event"]
    assert len(judged.accepted) == 1


def test_clients_cannot_land_server_events() -> None:
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
    from_server = Input("event_landing", "event_landing:1", NOW, raw, from_client=False)
    from_client = Input("event_landing", "event_landing:2", NOW, raw.replace(b"pi_1", b"pi_2"), from_client=True)
    judged, _ = judge([from_server, from_client], "run", nothing_known)
    assert len(judged.accepted) == 1
    assert [d.reason_code for d in judged.dead] == ["schema_violation"]
    assert judged.dead[0].source_ref == "event_landing:2"
