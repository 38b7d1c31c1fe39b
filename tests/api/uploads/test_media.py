"""Media facts from ISO BMFF box headers: duration from moov/mvhd, nothing invented for other files."""

from __future__ import annotations

import struct
from pathlib import Path

from api.uploads.media import media_facts
from api.uploads.storage import LocalUploadStorage
from tests.api.uploads.flows import mp4_bytes, video_bytes


async def facts(tmp_path: Path, data: bytes) -> dict[str, object]:
    storage = LocalUploadStorage(tmp_path)
    (tmp_path / "v").write_bytes(data)
    return await media_facts(storage, "v", len(data), "video/mp4")


async def test_duration_of_an_mp4(tmp_path: Path) -> None:
    result = await facts(tmp_path, mp4_bytes(90.25, timescale=600))
    assert result["duration_seconds"] == 90.25
    assert result["brand"] == "isom"


async def test_version_1_mvhd_and_64_bit_box_sizes(tmp_path: Path) -> None:
    ftyp = struct.pack(">I4s", 16, b"ftyp") + b"mp42" + bytes(4)
    mvhd_body = bytes([1, 0, 0, 0]) + struct.pack(">QQIQ", 0, 0, 1000, 7_200_000) + bytes(80)
    mvhd = struct.pack(">I4s", 8 + len(mvhd_body), b"mvhd") + mvhd_body
    moov = struct.pack(">I4sQ", 1, b"moov", 16 + len(mvhd)) + mvhd
    result = await facts(tmp_path, ftyp + moov)
    assert (result["brand"], result["duration_seconds"]) == ("mp42", 7200.0)


async def test_other_bytes_get_size_and_type_only(tmp_path: Path) -> None:
    data = video_bytes(4096, seed=50)
    assert await facts(tmp_path, data) == {"size_bytes": 4096, "content_type": "video/mp4"}


async def test_a_box_claiming_more_than_the_file_stops_the_walk(tmp_path: Path) -> None:
    ftyp = struct.pack(">I4s", 16, b"ftyp") + b"isom" + bytes(4)
    liar = struct.pack(">I4s", 10**9, b"moov")
    result = await facts(tmp_path, ftyp + liar + bytes(100))
    assert result == {"size_bytes": 124, "content_type": "video/mp4", "container": "iso_bmff", "brand": "isom"}
