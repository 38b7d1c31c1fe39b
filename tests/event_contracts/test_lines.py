"""parse_line: the raw bytes of one input line, before any schema."""

from __future__ import annotations

import json

import pytest

from event_contracts import MAX_LINE_BYTES, Reason, Violation, parse_line


def _line_of(size: int) -> bytes:
    """A JSON object of exactly `size` bytes."""
    skeleton = b'{"event_name":"app_open","pad":""}'
    return skeleton[:-2] + b"x" * (size - len(skeleton)) + b'"}'


def _only_reason(raw: bytes) -> Reason:
    document, violations = parse_line(raw)
    assert document is None
    assert len(violations) == 1
    assert violations[0].path == "$"
    return violations[0].reason


def test_an_object_is_returned_with_no_violation() -> None:
    assert parse_line(b' {"event_name": "app_open", "properties": {"launch": "cold"}} ') == (
        {"event_name": "app_open", "properties": {"launch": "cold"}},
        [],
    )


def test_a_line_of_exactly_the_limit_is_parsed() -> None:
    raw = _line_of(MAX_LINE_BYTES)
    assert len(raw) == 32_768
    document, violations = parse_line(raw)
    assert violations == []
    assert document is not None
    assert document["event_name"] == "app_open"


def test_one_byte_over_the_limit_is_a_size_violation_of_a_parsed_object() -> None:
    """The object is still returned: validation lists its other violations after `size_violation`."""
    raw = _line_of(MAX_LINE_BYTES + 1)
    document, violations = parse_line(raw)
    assert violations == [Violation(Reason.SIZE_VIOLATION, "$", "the line is 32,769 bytes; at most 32,768 are allowed")]
    assert document is not None
    assert document["event_name"] == "app_open"


def test_the_limit_counts_bytes_not_characters() -> None:
    characters = MAX_LINE_BYTES // 2
    raw = json.dumps({"a": "é" * characters}, ensure_ascii=False).encode()
    assert len(raw.decode()) < MAX_LINE_BYTES < len(raw)
    assert [violation.reason for violation in parse_line(raw)[1]] == [Reason.SIZE_VIOLATION]


@pytest.mark.parametrize(
    ("raw", "first"),
    [
        pytest.param(b"x" * 40_000, Reason.MALFORMED_JSON, id="garbage"),
        pytest.param(b'{"event_name": "' + b"x" * 40_000, Reason.MALFORMED_JSON, id="truncated-object"),
        pytest.param(b"\xff" * 40_000, Reason.MALFORMED_JSON, id="not-utf8"),
        pytest.param(json.dumps([{"event_name": "app_open"}] * 2_000).encode(), Reason.NOT_AN_OBJECT, id="array"),
        pytest.param(json.dumps("x" * 40_000).encode(), Reason.NOT_AN_OBJECT, id="string"),
    ],
)
def test_an_oversized_line_that_is_not_an_object_says_so_first_and_lists_its_size(raw: bytes, first: Reason) -> None:
    """events.md: `reason_code` is the first in malformed_json, not_an_object, size_violation, …; `errors` lists all."""
    assert len(raw) > MAX_LINE_BYTES
    document, violations = parse_line(raw)
    assert document is None
    assert [violation.reason for violation in violations] == [first, Reason.SIZE_VIOLATION]
    assert all(violation.path == "$" for violation in violations)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b'{"event_name": "app_open\xff"}', id="invalid-utf8-in-string"),
        pytest.param(b'{"event_name": "\xc3"}', id="truncated-utf8-sequence"),
        pytest.param('{"a": "é"}'.encode("latin-1"), id="latin-1"),
        pytest.param('{"a": 1}'.encode("utf-16"), id="utf-16"),
        pytest.param(b'{"event_name": "app_open", "properties": {', id="truncated-json"),
        pytest.param(b"", id="empty-line"),
        pytest.param(b"   ", id="blank-line"),
        pytest.param(b'{"a": NaN}', id="nan"),
        pytest.param(b'{"a": Infinity}', id="infinity"),
        pytest.param(b'{"a": -Infinity}', id="minus-infinity"),
        pytest.param(b'{"a": 1e400}', id="number-out-of-range"),
        pytest.param(b'{"a": "\\ud800"}', id="lone-surrogate-escape"),
        pytest.param(b"{'a': 1}", id="single-quotes"),
        pytest.param(b'{"a": 1,}', id="trailing-comma"),
        pytest.param(b'{"a": 1}{"b": 2}', id="two-objects-on-one-line"),
        pytest.param(b'{"a": 1}\n{"b": 2}', id="embedded-line-break"),
        pytest.param(b'{"a": 01}', id="leading-zero"),
    ],
)
def test_malformed_json(raw: bytes) -> None:
    assert _only_reason(raw) is Reason.MALFORMED_JSON


def test_a_byte_order_mark_is_malformed_and_says_so() -> None:
    document, violations = parse_line(b'\xef\xbb\xbf{"event_name": "app_open"}')
    assert document is None
    assert [violation.reason for violation in violations] == [Reason.MALFORMED_JSON]
    assert "byte order mark" in violations[0].message


def test_not_utf8_says_where() -> None:
    _, violations = parse_line(b'{"a": "\xff"}')
    assert violations[0].message.startswith("not UTF-8")
    assert "0xff" in violations[0].message


def test_nesting_beyond_the_parser_is_malformed_not_a_crash() -> None:
    depth = 10_000
    raw = b'{"context": ' + b"[" * depth + b"]" * depth + b"}"
    assert len(raw) <= MAX_LINE_BYTES
    assert _only_reason(raw) is Reason.MALFORMED_JSON


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (b'[{"event_name": "app_open"}]', "array"),
        (b"42", "number"),
        (b"4.2", "number"),
        (b'"app_open"', "string"),
        (b"true", "boolean"),
        (b"null", "null"),
    ],
)
def test_json_that_is_not_an_object(raw: bytes, kind: str) -> None:
    document, violations = parse_line(raw)
    assert document is None
    assert violations == [Violation(Reason.NOT_AN_OBJECT, "$", f"the line is a JSON {kind}, not an object")]


def test_escaped_characters_and_a_carriage_return_are_fine() -> None:
    document, violations = parse_line(b'{"a": "caf\\u00e9 \\ud83d\\ude00", "b": "\\u0000"}\r')
    assert violations == []
    assert document == {"a": "café 😀", "b": "\x00"}
