"""Ingestion runs over real PostgreSQL (the landing table) and real files into a real DuckDB warehouse."""

from __future__ import annotations

import gzip
import json
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from litestar import Litestar
from litestar.testing import AsyncTestClient

from dead_letter.store import original_bytes
from pipelines.runs import ingest_landing_files, ingest_landing_table
from stores.warehouse import open_warehouse
from tests.conftest import MakeUser
from tests.pipelines.conftest import LocalRunStores, query
from tests.pipelines.events import client_event, line, post_mixed_batch


def rows(where: LocalRunStores, sql: str) -> list[tuple[Any, ...]]:
    return query(where, sql)


async def test_landing_table_rows_are_ingested_once(
    client: AsyncTestClient[Litestar], make_user: MakeUser, sql: asyncpg.Connection, where: LocalRunStores
) -> None:
    good = await post_mixed_batch(client, make_user().headers)

    audit = ingest_landing_table(where, "run-1")
    assert (audit.received, audit.accepted, audit.duplicates, audit.dead_lettered) == (5, 3, 1, 1)
    assert sorted(str(r[0]) for r in rows(where, "select event_id from raw.events")) == sorted(
        e["event_id"] for e in good
    )
    assert rows(where, "select reason_code, raw from marts.dead_letter_events") == [("not_an_object", '"not an event"')]

    again = ingest_landing_table(where, "run-2")
    assert again.received == 0
    assert rows(where, "select count(*) from raw.events") == [(3,)]
    assert rows(where, "select run_id, source, received from marts.ingestion_audit order by run_id") == [
        ("run-1", "event_landing", 5),
        ("run-2", "event_landing", 0),
    ]
    assert await sql.fetchval("select count(*) from event_landing") == 5  # landing rows are never deleted


def test_files_are_ingested_once_by_content(where: LocalRunStores) -> None:
    events = [client_event() for _ in range(4)]
    plain = b"\n".join(map(line, events[:2])) + b"\n"
    (where.landing_dir / "a.ndjson").write_bytes(plain)
    nested = where.landing_dir / "2026" / "11"
    nested.mkdir(parents=True)
    (nested / "b.ndjson.gz").write_bytes(gzip.compress(b"\n".join([*map(line, events[2:]), b"\xff\xfe bad"])))

    audit = ingest_landing_files(where, "run-1")
    assert (audit.received, audit.accepted, audit.dead_lettered) == (5, 4, 1)
    refs = {r[0] for r in rows(where, "select source_ref from raw.events")}
    assert refs == {"a.ndjson:1", "a.ndjson:2", "2026/11/b.ndjson.gz:1", "2026/11/b.ndjson.gz:2"}

    (where.landing_dir / "a-copy.ndjson").write_bytes(plain)  # the same content under another name
    assert ingest_landing_files(where, "run-2").received == 0
    assert rows(where, "select count(*) from raw.events") == [(4,)]


def test_a_landing_file_is_read_again_only_once_written_since_its_run(where: LocalRunStores) -> None:
    """An ingested file is known by its path, size and modification time: a later run does not read it at all
    (its content could change unseen only if its time were set back), and reads it again once it is written."""
    first, second = line(client_event()), line(client_event())
    path = where.landing_dir / "a.ndjson"
    path.write_bytes(first + b"\n" + second)
    assert ingest_landing_files(where, "run-1").accepted == 2
    stat = path.stat()
    path.write_bytes(second + b"\n" + first)  # other bytes of the same size, at the same time: not read
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert ingest_landing_files(where, "run-2").received == 0
    os.utime(path, (stat.st_mtime + 60, stat.st_mtime + 60))  # written since: read, and new content
    audit = ingest_landing_files(where, "run-3")
    assert (audit.received, audit.accepted, audit.duplicates) == (2, 0, 2)
    assert rows(where, "select path, run_id from raw.ingested_files order by run_id") == [
        ("a.ndjson", "run-1"),
        ("a.ndjson", "run-3"),
    ]


def test_files_of_a_warehouse_made_before_modification_times_are_read_once_more(where: LocalRunStores) -> None:
    path = where.landing_dir / "a.ndjson"
    path.write_bytes(line(client_event()) + b"\n")
    ingest_landing_files(where, "run-1")
    with open_warehouse(where.warehouse) as store:
        store.run("alter table raw.ingested_files drop column modified")  # as an older version made it
    assert ingest_landing_files(where, "run-2").received == 0  # the column comes back; the file is read, known
    ((modified,),) = rows(where, "select modified from raw.ingested_files")
    assert modified == datetime.fromtimestamp(path.stat().st_mtime, UTC)
    stat = path.stat()
    path.write_bytes(b"x" * stat.st_size)  # a dead letter if it were read: it is not, known by its time now
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert ingest_landing_files(where, "run-3").received == 0


def test_dead_letters_keep_the_original_bytes_in_files_and_table(where: LocalRunStores) -> None:
    bad = b'{"event_id": "x", \xff\xfe truncated'
    (where.landing_dir / "bad.ndjson").write_bytes(bad + b"\n")
    ingest_landing_files(where, "run-1")
    (dead_letter_id, raw, encoding, reason, received_at) = rows(
        where, "select dead_letter_id, raw, raw_encoding, reason_code, received_at from marts.dead_letter_events"
    )[0]
    assert reason == "malformed_json"
    assert original_bytes(str(raw), str(encoding)) == bad
    partition = where.dead_letter_dir / f"date={received_at.astimezone(UTC).date().isoformat()}" / "run-1.ndjson"
    record = json.loads(partition.read_text())
    assert record["dead_letter_id"] == dead_letter_id
    assert original_bytes(record["raw"], record["raw_encoding"]) == bad
    assert record["source_ref"] == "bad.ndjson:1"


def test_file_received_at_is_its_modification_time(where: LocalRunStores) -> None:
    path = where.landing_dir / "old.ndjson"
    path.write_bytes(line(client_event(occurred_at=datetime.now(UTC) - timedelta(days=3))) + b"\n")
    two_days_ago = time.time() - 2 * 86400
    os.utime(path, (two_days_ago, two_days_ago))
    ingest_landing_files(where, "run-1")
    (received_at,) = rows(where, "select extract(epoch from received_at) from raw.events")[0]
    assert abs(float(received_at) - two_days_ago) < 1


def typed(properties: dict[str, object]) -> dict[str, tuple[object, type]]:
    """1.0 == 1 in Python: compare the JSON types too."""
    return {key: (value, type(value)) for key, value in properties.items()}


async def test_integer_properties_sent_as_integral_floats_are_stored_as_integers(
    where: LocalRunStores, sql: asyncpg.Connection
) -> None:
    """JSON Schema's `integer` accepts `2500.0`; stored so, stg_events' bigint cast fails on PostgreSQL."""
    money = {"support_id": str(uuid.uuid4()), "amount_minor": 2500.0, "currency": "EUR", "share": 0.5, "tip": 1.0}
    checkout = client_event("support_cta_tap", event_name="checkout_started", properties=money)
    video = {"video_id": str(uuid.uuid4()), "rendition": "720p", "watch_ms": 1e3, "bitrate_kbps": 2400}
    play = client_event("project_view", event_name="video_play", properties=video | {"bytes_delivered": 3e5})
    sent = [line(checkout), line(play)]
    (where.landing_dir / "floats.ndjson").write_bytes(b"".join(raw + b"\n" for raw in sent))
    assert ingest_landing_files(where, "run-1").accepted == 2
    stored = rows(where, "select properties::varchar, raw from raw.events order by event_name")
    assert [raw.encode() for _, raw in stored] == sent
    checkout_properties, play_properties = (typed(json.loads(str(properties))) for properties, _ in stored)
    assert checkout_properties == typed({**money, "amount_minor": 2500})  # undeclared keys stay as sent
    assert play_properties == typed({**video, "watch_ms": 1000, "bytes_delivered": 300000})
    cast = "select cast(($1::json ->> 'amount_minor') as bigint), cast(($1::json ->> 'bytes_delivered') as bigint)"
    in_postgres = [tuple(await sql.fetchrow(cast, properties)) for properties, _ in stored]  # as stg_events does
    assert in_postgres == [(2500, None), (None, 300000)]


def test_a_failed_commit_leaves_no_trace(where: LocalRunStores, monkeypatch: object) -> None:
    import pytest

    from pipelines import ingestion

    (where.landing_dir / "x.ndjson").write_bytes(line(client_event()) + b"\n{bad\n")

    def broken(*_: object) -> None:
        raise RuntimeError("disk full")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ingestion, "insert_rows", broken)
        with pytest.raises(RuntimeError):
            ingest_landing_files(where, "run-1")
    assert rows(where, "select count(*) from raw.events") == [(0,)]
    assert rows(where, "select count(*) from raw.ingested_files") == [(0,)]
    assert not list(Path(where.dead_letter_dir).rglob("*.ndjson"))
    assert ingest_landing_files(where, "run-2").received == 2  # nothing was marked ingested


async def test_a_young_gap_in_landing_ids_waits_and_an_old_one_is_skipped(
    client: AsyncTestClient[Litestar], sql: asyncpg.Connection, where: LocalRunStores
) -> None:
    from pipelines.sources import read_landing_table

    base = int(await sql.fetchval("select coalesce(max(landing_id), 0) from event_landing")) + 1000
    for offset in (0, 1, 3):  # base + 2 is taken by a transaction that has not committed (or never will)
        await sql.execute(
            "insert into event_landing (landing_id, source, raw) values ($1, 'client', '{}')", base + offset
        )
    batch = read_landing_table(where.oltp_dsn, base - 1, 100)
    assert batch.position == base + 1
    assert batch.refs == [f"event_landing:{base}", f"event_landing:{base + 1}"]

    await sql.execute(
        "update event_landing set received_at = now() - interval '1 minute' where landing_id = $1", base + 3
    )
    assert read_landing_table(where.oltp_dsn, base + 1, 100).position == base + 3


def test_a_run_that_loses_an_input_fails_and_commits_nothing(where: LocalRunStores) -> None:
    import pytest

    from pipelines import ingestion, verdicts

    (where.landing_dir / "x.ndjson").write_bytes(b"\n".join(line(client_event()) for _ in range(3)) + b"\n")
    real = verdicts.judge_chunk

    def leaky(*args: object, **kwargs: object) -> object:
        judged = real(*args, **kwargs)  # type: ignore[arg-type]
        assert judged.spool is not None
        rows = Path(judged.spool)
        rows.write_text("".join(rows.read_text().splitlines(keepends=True)[:-1]))  # an input vanishes on the way
        return judged

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ingestion, "judge_chunk", leaky)
        with pytest.raises(ingestion.ConservationError, match="received 3"):
            ingest_landing_files(where, "run-1")
    assert rows(where, "select count(*) from raw.events") == [(0,)]
    assert rows(where, "select count(*) from marts.ingestion_audit") == [(0,)]
    assert ingest_landing_files(where, "run-2").accepted == 3


def test_text_that_bulk_formats_treat_specially_is_stored_as_sent(where: LocalRunStores) -> None:
    """Quotes, commas, backslashes, line breaks, a line of `\\.` (COPY's end of data), the text `null` and empty text
    go through the warehouse's bulk format (PostgreSQL: CSV) unchanged; an absent key is null, an empty string stays
    empty. A line with an escape or a tab takes the field-by-field path there, a plain one the one-call path."""
    tricky = 'a "quoted", line\r\n\\.\nend\\'
    event = client_event(
        anonymous_id='"\\.",',
        session_id="s\n\\.\nt",  # a CSV line of its own: `\.`
        app_version='2.3.0-beta+"x",y',
        context={"note": tricky, "empty": "", "nested": {"quote": '"'}},
        properties={"source": "feed", "extra": tricky},
    )
    bare = client_event()
    del bare["user_id"]  # absent = null
    plain = client_event(anonymous_id="null", context={"locale": "", "device": "iPhone, 15"})
    sent = [line(event), b"  " + line(bare) + b"\t", line(plain)]  # whitespace around an object is in its raw bytes
    assert b"\\" not in sent[2]  # the plain line: no escape and no tab, so the one-call path
    assert b"\t" not in sent[2]
    (where.landing_dir / 'tri"cky, file\\.ndjson').write_bytes(b"".join(raw + b"\n" for raw in sent))  # source_ref
    assert ingest_landing_files(where, "run-1").accepted == 3
    stored = rows(
        where,
        "select raw, anonymous_id, session_id, app_version, user_id, context::varchar, properties::varchar, "
        "source_ref from raw.events order by source_ref",
    )
    assert [row[7] for row in stored] == [f'tri"cky, file\\.ndjson:{number}' for number in (1, 2, 3)]
    assert [row[0].encode() for row in stored] == sent
    (_, anonymous_id, session_id, app_version, user_id, context, properties, _), bare_row, plain_row = stored
    assert (anonymous_id, session_id, app_version) == (event["anonymous_id"], event["session_id"], event["app_version"])
    assert user_id is None
    assert json.loads(str(context)) == event["context"]
    assert json.loads(str(properties)) == event["properties"]
    assert (bare_row[4], bare_row[5]) == (None, None)  # no user_id key, no context key
    assert plain_row[1:5] == ("null", plain["session_id"], plain["app_version"], plain["user_id"])
    assert (json.loads(str(plain_row[5])), json.loads(str(plain_row[6]))) == (plain["context"], plain["properties"])


async def test_whitespace_a_bulk_format_escapes_is_stored_as_sent_in_inputs_without_backslashes(
    where: LocalRunStores, sql: asyncpg.Connection
) -> None:
    """A tab or a CR between a line's tokens, a line break inside a landing row, and no backslash anywhere: the raw
    bytes are stored as sent. (The judge writes the rows of a chunk with none of these in one call each, where
    PostgreSQL's CSV would read msgspec's `\\t` as two characters; these inputs must not take that way.)"""
    events = [client_event() for _ in range(3)]
    sent = [line(events[0]).replace(b",", b",\t", 1), line(events[1]).replace(b",", b",\r", 1), line(events[2])]
    pretty = json.dumps(client_event(), indent=1)  # line breaks between the tokens
    assert not any(b"\\" in raw for raw in [*sent, pretty.encode()])
    for name, raws in (("tab.ndjson", [sent[0], sent[2]]), ("cr.ndjson", [sent[1]])):  # a chunk for each
        (where.landing_dir / name).write_bytes(b"".join(raw + b"\n" for raw in raws))
    await sql.execute("truncate event_landing")  # the test database's; no API test around to empty it
    await sql.execute("insert into event_landing (source, raw) values ('client', $1)", pretty)
    try:
        assert ingest_landing_files(where, "run-1").accepted == 3
        assert ingest_landing_table(where, "run-2").accepted == 1
    finally:
        await sql.execute("truncate event_landing")
    stored = rows(where, "select source, raw, session_id from raw.events order by source, source_ref")
    in_files = [sent[1], sent[0], sent[2]]  # cr.ndjson:1, tab.ndjson:1, tab.ndjson:2
    assert [(source, raw) for source, raw, _ in stored] == [
        ("event_landing", pretty),
        *(("landing_files", raw.decode()) for raw in in_files),
    ]
    assert [session_id for _, _, session_id in stored[1:]] == [json.loads(raw)["session_id"] for raw in in_files]


def test_u0000_is_stored_as_u_fffd_and_nul_bytes_dead_letter_in_base64(where: LocalRunStores) -> None:
    """PostgreSQL's text cannot hold U+0000. A valid event whose strings hold it (the escape `\\u0000`, in a value or
    a key) is accepted on every engine: its raw bytes as sent, its columns with U+FFFD where the NUL was. A line of
    NUL bytes (a file padded with zeros by a crash) is a dead letter whose raw is kept losslessly in base64; a dead
    letter's own fields (its event_id, the errors' messages) carry U+FFFD too. Nothing stops the source."""
    nul, fffd = "\x00", "\ufffd"
    event = client_event(
        anonymous_id=f"a{nul}b",
        session_id=nul,
        app_version=f"2.3.0-{nul}",
        context={"k": f"v{nul}", f"key{nul}": 1},
        properties={"source": "feed", "extra": [nul]},
    )
    bad_id = client_event(event_id=f"{nul}not-a-uuid")
    sent = [line(event), line(bad_id), nul.encode() * 16, line(client_event()) + nul.encode()]
    assert b"\\u0000" in sent[0]
    (where.landing_dir / "nul.ndjson").write_bytes(b"".join(raw + b"\n" for raw in sent))

    audit = ingest_landing_files(where, "run-1")
    assert (audit.received, audit.accepted, audit.dead_lettered) == (4, 1, 3)
    [(raw, anonymous_id, session_id, app_version, context, properties)] = rows(
        where,
        "select raw, anonymous_id, session_id, app_version, context::varchar, properties::varchar from raw.events",
    )
    assert raw.encode() == sent[0]
    assert (anonymous_id, session_id, app_version) == (f"a{fffd}b", fffd, f"2.3.0-{fffd}")
    assert json.loads(str(context)) == {"k": f"v{fffd}", f"key{fffd}": 1}
    assert json.loads(str(properties)) == {"source": "feed", "extra": [fffd]}

    dead = rows(
        where,
        "select source_ref, reason_code, raw, raw_encoding, event_id, errors::varchar from marts.dead_letter_events "
        "order by source_ref",
    )
    assert [(ref, reason) for ref, reason, *_ in dead] == [
        ("nul.ndjson:2", "schema_violation"),
        ("nul.ndjson:3", "malformed_json"),
        ("nul.ndjson:4", "malformed_json"),
    ]
    assert [original_bytes(str(raw), str(encoding)) for _, _, raw, encoding, _, _ in dead] == sent[1:]
    assert [encoding for _, _, _, encoding, _, _ in dead] == ["utf8", "base64", "base64"]
    assert dead[0][4] == f"{fffd}not-a-uuid"
    assert nul not in json.dumps(json.loads(str(dead[0][5])), ensure_ascii=False)
    [partition] = where.dead_letter_dir.glob("date=*/run-1.ndjson")
    records = sorted((json.loads(text) for text in partition.read_text().splitlines()), key=lambda r: r["source_ref"])
    assert [original_bytes(record["raw"], record["raw_encoding"]) for record in records] == sent[1:]
