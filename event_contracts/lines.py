"""Parsing one raw input line (its bytes, without the line break) into a JSON object."""

from __future__ import annotations

from typing import Any

import msgspec

from event_contracts.reasons import Reason, Violation

MAX_LINE_BYTES = 32_768
_UTF8_BOM = b"\xef\xbb\xbf"
_DECODER = msgspec.json.Decoder()
_JSON_TYPES = {list: "array", str: "string", int: "number", float: "number", bool: "boolean", type(None): "null"}


def _whole_line(reason: Reason, message: str) -> Violation:
    return Violation(reason, "$", message)


def _too_long(size: int) -> Violation:
    return _whole_line(Reason.SIZE_VIOLATION, f"the line is {size:,} bytes; at most {MAX_LINE_BYTES:,} are allowed")


def parse_line(raw: bytes) -> tuple[dict[str, Any] | None, list[Violation]]:
    """The line's JSON object (None when it is not one) and the line's own violations: syntax or shape, then size.

    An oversized line is parsed all the same (it is in memory already): its `reason_code` follows the contract's
    order, and an oversized object goes on to validation so that `errors` lists every violation.
    """
    oversized = [] if len(raw) <= MAX_LINE_BYTES else [_too_long(len(raw))]
    try:
        document = _DECODER.decode(raw)
    except UnicodeDecodeError as exc:
        byte = exc.object[exc.start : exc.start + 1].hex()
        return None, [_whole_line(Reason.MALFORMED_JSON, f"not UTF-8: {exc.reason} (byte 0x{byte})"), *oversized]
    except RecursionError:
        return None, [_whole_line(Reason.MALFORMED_JSON, "nested deeper than the parser allows"), *oversized]
    except msgspec.MsgspecError as exc:
        # A BOM is not JSON (RFC 8259 § 8.1); the raw line is kept as-is in the dead letter, so nothing is lost.
        detail = "starts with a UTF-8 byte order mark" if raw.startswith(_UTF8_BOM) else str(exc)
        return None, [_whole_line(Reason.MALFORMED_JSON, f"not JSON: {detail}"), *oversized]
    if not isinstance(document, dict):
        kind = _JSON_TYPES.get(type(document), "value")
        return None, [_whole_line(Reason.NOT_AN_OBJECT, f"the line is a JSON {kind}, not an object"), *oversized]
    return document, oversized
