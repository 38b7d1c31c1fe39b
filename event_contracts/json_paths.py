"""JSON paths for violations (`$.properties.amount_minor`, `$.context['os-version']`, `$.items[0]`)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def json_path(location: Iterable[str | int]) -> str:
    parts = ["$"]
    for step in location:
        if isinstance(step, int):
            parts.append(f"[{step}]")
        elif _PLAIN_NAME.fullmatch(step):
            parts.append(f".{step}")
        else:
            parts.append(f"[{json.dumps(step, ensure_ascii=False)}]")
    return "".join(parts)


def excerpt(text: str, limit: int = 200) -> str:
    """Messages quote the input; a 30 kB value must not make a 30 kB message."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
