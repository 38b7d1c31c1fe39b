"""Whatever lands, every input is accounted for: received = accepted + duplicates + dead_lettered, and
every valid event is accepted exactly once."""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.runs import RunStores, ingest_landing_files
from tests.pipelines.events import client_event, line

VALID = [line(client_event(name)) for name in ("app_open", "feed_impression", "project_view", "support_cta_tap") * 3]


def garbage() -> st.SearchStrategy[bytes]:
    no_newline = st.binary(max_size=200).map(lambda b: b.replace(b"\n", b" "))
    truncated = st.sampled_from(VALID).flatmap(lambda raw: st.integers(1, len(raw) - 1).map(lambda n: raw[:n]))
    huge = st.integers(32_769, 40_000).map(lambda n: b'{"pad": "' + b"x" * n + b'"}')
    latin1 = st.just(VALID[0].replace(b'"cold"', '"caf\u00e9"'.encode("latin-1")))  # app_open, not UTF-8
    wrong_types = st.sampled_from(VALID).map(lambda raw: raw.replace(b'"1.0"', b"1.0"))
    return st.one_of(no_newline, truncated, huge, latin1, wrong_types, st.just(b""), st.just(b"null"))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    lines=st.lists(
        st.one_of(st.sampled_from(VALID).map(lambda raw: (True, raw)), garbage().map(lambda raw: (False, raw))),
        max_size=60,
    ),
    gz=st.booleans(),
)
def test_conservation_holds_for_any_input(lines: list[tuple[bool, bytes]], gz: bool) -> None:
    import gzip

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        where = RunStores(root / "w.duckdb", root / "dl", root / "landing", oltp_dsn="unused")
        (root / "landing").mkdir()
        content = b"".join(raw + b"\n" for _, raw in lines)
        name = "batch.ndjson.gz" if gz else "batch.ndjson"
        (root / "landing" / name).write_bytes(gzip.compress(content) if gz else content)

        audit = ingest_landing_files(where, "run-1")

        valid = [raw for ok, raw in lines if ok]
        assert audit.received == len(lines)
        assert audit.received == audit.accepted + audit.duplicates + audit.dead_lettered
        assert audit.accepted == len(set(valid))
        assert audit.duplicates == len(valid) - len(set(valid))
        assert audit.dead_lettered == len(lines) - len(valid)
        with duckdb.connect(str(where.warehouse), read_only=True) as connection:
            stored = {row[0].encode() for row in connection.execute("select raw from raw.events").fetchall()}
            dead = connection.execute("select count(*) from marts.dead_letter_events").fetchone()
        assert stored == set(valid)
        assert dead == (audit.dead_lettered,)
