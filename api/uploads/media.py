"""Basic facts about a stored video, read without decoding it (no new dependencies).

ISO base media files (MP4, MOV, M4V) are a sequence of boxes: `size(4) type(4) [largesize(8)]`.
The top-level `ftyp` names the brand; `moov/mvhd` holds the timescale and duration. Only box
headers and the small `mvhd` are read, so a multi-GiB file costs a few ranged reads.
"""

from __future__ import annotations

import struct
from typing import Any

from api.uploads.storage import UploadStorage

_MAX_BOXES = 1024  # a malformed file must not make us walk forever


async def _boxes(storage: UploadStorage, key: str, start: int, end: int) -> list[tuple[str, int, int]]:
    """(type, payload start, payload end) of the boxes in [start, end)."""
    boxes: list[tuple[str, int, int]] = []
    position = start
    while position + 8 <= end and len(boxes) < _MAX_BOXES:
        header = await storage.read_range(key, position, 16)
        if len(header) < 8:
            break
        size, kind = struct.unpack(">I4s", header[:8])
        payload = position + 8
        if size == 1 and len(header) == 16:
            size = struct.unpack(">Q", header[8:16])[0]
            payload = position + 16
        elif size == 0:
            size = end - position  # the box runs to the end of its parent
        if size < payload - position or position + size > end:
            break
        boxes.append((kind.decode("latin-1"), payload, position + size))
        position += size
    return boxes


def _duration(mvhd: bytes) -> float | None:
    if len(mvhd) >= 20 and mvhd[0] == 0:
        timescale, duration = struct.unpack(">II", mvhd[12:20])
    elif len(mvhd) >= 32 and mvhd[0] == 1:
        timescale, duration = struct.unpack(">IQ", mvhd[20:32])
    else:
        return None
    return round(duration / timescale, 3) if timescale else None


async def media_facts(storage: UploadStorage, key: str, size: int, content_type: str) -> dict[str, Any]:
    facts: dict[str, Any] = {"size_bytes": size, "content_type": content_type}
    top = await _boxes(storage, key, 0, size)
    if not top or top[0][0] != "ftyp":
        return facts
    _, start, _ = top[0]
    facts["container"] = "iso_bmff"
    facts["brand"] = (await storage.read_range(key, start, 4)).decode("latin-1").strip()
    for kind, start, end in top:
        if kind != "moov":
            continue
        for child, child_start, child_end in await _boxes(storage, key, start, end):
            if child == "mvhd":
                duration = _duration(await storage.read_range(key, child_start, min(child_end - child_start, 32)))
                if duration is not None:
                    facts["duration_seconds"] = duration
    return facts
