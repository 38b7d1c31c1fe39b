"""Landing client events: every element of a batch is stored as-is, atomically, for the pipeline to validate."""

from __future__ import annotations

import re

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import MAX_JSON_DEPTH, DomainError, FieldError, MalformedBody, UnsupportedMediaType, ValidationFailed
from api.events import repositories as repo
from api.events.schemas import MAX_EVENTS_PER_BATCH, Accepted, EventBatch

BATCHES_PER_MINUTE = 120
MAX_ELEMENT_DEPTH = MAX_JSON_DEPTH - 2  # inside {"events": [ … ]}


class TooManyEvents(DomainError):
    status, code = 422, "too_many_events"


class RateLimited(DomainError):
    status, code = 429, "rate_limited"


def require_json(content_type: str) -> None:
    """`application/json`, with or without parameters (a charset); anything else is 415 (api.md)."""
    if content_type.split(";", 1)[0].strip().lower() != "application/json":
        raise UnsupportedMediaType("Send the batch as Content-Type: application/json.")


# A JSON escape: `\uD800`…`\uDFFF` (half a surrogate pair), or any other (so `\\` is skipped whole).
_ESCAPE = re.compile(rb"\\(?:u[dD][89a-fA-F][0-9a-fA-F]{2}|.)", re.DOTALL)


def _without_surrogate_escapes(body: bytes) -> bytes:
    """`body` with every surrogate escape replaced by `\\ufffd`, byte for byte as long: JSON text that
    msgspec reads, and whose elements sit where the original's do."""
    return _ESCAPE.sub(lambda m: b"\\ufffd" if len(m.group(0)) == 6 else m.group(0), body)


def _elements(body: bytes) -> list[str]:
    """The batch's elements as their original text. An element with a lone surrogate escape is still JSON
    text: msgspec refuses to read it, so it is found in a copy without such escapes and cut from `body`."""
    try:
        return [bytes(raw).decode() for raw in msgspec.json.decode(body, type=EventBatch).events]
    except msgspec.DecodeError:
        if b"\\u" not in body:
            raise
        readable = _without_surrogate_escapes(body)
        raws = [bytes(raw) for raw in msgspec.json.decode(readable, type=EventBatch).events]
        elements, position = [], readable.index(b"[")  # `{"events": [`: the key holds no bracket
        for raw in raws:
            position = readable.index(raw, position)  # only commas and blanks lie between two elements
            elements.append(body[position : position + len(raw)].decode())
            position += len(raw)
        return elements


def parse_batch(body: bytes) -> list[str]:
    """The batch's elements as their raw JSON text. The body obeys the API's JSON rules (UTF-8, at most
    64 levels deep, counting the batch's own two); what each element says is the pipeline's to judge,
    even JSON text the contract's decoder refuses (a lone surrogate escape: landed, then dead-lettered)."""
    try:
        raws = _elements(body)  # msgspec skips over elements unchecked
    except msgspec.ValidationError as exc:
        raise ValidationFailed(
            'The body must be {"events": [...]}.', errors=[FieldError(path="$", message=str(exc))]
        ) from None
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        raise MalformedBody("The request body is not valid UTF-8 JSON.") from None
    if len(raws) > MAX_EVENTS_PER_BATCH:
        raise TooManyEvents(f"At most {MAX_EVENTS_PER_BATCH} events per request; send several batches.")
    for raw in raws:
        if raw.count("[") + raw.count("{") > MAX_ELEMENT_DEPTH:  # brackets in strings count too: then look closer
            _check_depth(raw)
    return raws


def _check_depth(raw: str) -> None:
    depth = deepest = 0
    in_string = escaped = False
    for char in raw:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    if deepest > MAX_ELEMENT_DEPTH:
        raise MalformedBody(f"JSON nested deeper than {MAX_JSON_DEPTH} levels is not accepted.")


async def land(session: AsyncSession, client_key: str, body: bytes) -> Accepted:
    raws = parse_batch(body)
    if await repo.hit(session, client_key) > BATCHES_PER_MINUTE:
        raise RateLimited(f"At most {BATCHES_PER_MINUTE} batches per minute per client.", headers={"Retry-After": "60"})
    await repo.land(session, raws)
    return Accepted(accepted=len(raws))
