"""A landing file's lines, as the judging workers get them: read where they are in a local file (FileLines), or
shipped as lines from an object store or a .gz file. Either way, every line once, in order, numbered from 1."""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines import ingestion, sources
from pipelines.verdicts import Chunk, FileLines

# Lines of a few shapes: empty, short, with a CR before the break, and longer than the blocks below.
line_bytes = st.one_of(st.just(b""), st.binary(max_size=6).map(lambda b: b.replace(b"\n", b"")), st.just(b"x" * 40))


def chunked(landing: str, *, in_a_store: bool = False) -> list[Chunk]:
    found = sources.find_landing_files(landing)
    for landing_file in found:
        landing_file.location.local = not in_a_store  # where an object store's files take the other path
    return list(sources.file_chunks(found))


def lines_of(chunks: list[Chunk], most: int = ingestion.CHUNK_LINES) -> list[bytes]:
    numbered: list[bytes] = []
    for chunk in chunks:
        lines = chunk.raws if isinstance(chunk.raws, list) else chunk.raws.read()
        assert isinstance(chunk.refs, tuple)
        assert (chunk.first_seq, chunk.refs[1]) == (len(numbered), len(numbered) + 1)
        assert 0 < len(lines) == len(chunk.raws) <= most
        numbered += lines
    return numbered


@settings(max_examples=150, deadline=None)
@given(
    lines=st.lists(line_bytes, max_size=30),
    final_break=st.booleans(),
    chunk_bytes=st.integers(1, 24),
    chunk_lines=st.integers(1, 4),
)
def test_a_local_file_is_read_by_its_workers_as_an_object_store_ships_it(
    lines: list[bytes], final_break: bool, chunk_bytes: int, chunk_lines: int
) -> None:
    content = b"\n".join(lines) + (b"\n" if final_break and lines else b"")
    expected = content.split(b"\n")[:-1] if content.endswith(b"\n") else content.split(b"\n") if content else []
    with pytest.MonkeyPatch.context() as patch, tempfile.TemporaryDirectory() as local:
        patch.setattr(sources, "CHUNK_BYTES", chunk_bytes)
        patch.setattr(sources, "CHUNK_LINES", chunk_lines)
        (Path(local) / "a.ndjson").write_bytes(content)
        read_in_place, shipped = chunked(local), chunked(local, in_a_store=True)
        assert all(isinstance(chunk.raws, FileLines) for chunk in read_in_place)
        assert all(isinstance(chunk.raws, list) for chunk in shipped)
        assert lines_of(read_in_place, chunk_lines) == lines_of(shipped, chunk_lines) == expected


def test_a_compressed_local_file_is_shipped_as_lines(tmp_path: Path) -> None:
    (tmp_path / "a.ndjson.gz").write_bytes(gzip.compress(b"one\ntwo\r\nthree"))
    chunks = chunked(str(tmp_path))
    assert all(isinstance(chunk.raws, list) for chunk in chunks)
    assert lines_of(chunks) == [b"one", b"two\r", b"three"]  # the judge strips the CR (strip_cr)


def test_a_file_that_changed_since_it_was_cut_into_runs_fails_its_run(tmp_path: Path) -> None:
    (tmp_path / "a.ndjson").write_bytes(b"one\ntwo\n")
    (chunk,) = chunked(str(tmp_path))
    (tmp_path / "a.ndjson").write_bytes(b"one\n")
    assert isinstance(chunk.raws, FileLines)
    with pytest.raises(RuntimeError, match="changed while it was ingested"):
        chunk.raws.read()
