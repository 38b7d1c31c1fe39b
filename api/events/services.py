"""Landing client events: every element of a batch is stored as-is, atomically, for the pipeline to validate."""

from __future__ import annotations

import msgspec

from api.db.engine import Database
from api.errors import DomainError, FieldError, MalformedBody, ValidationFailed
from api.events import repositories as repo
from api.events.schemas import MAX_EVENTS_PER_BATCH, Accepted, EventBatch

BATCHES_PER_MINUTE = 120


class TooManyEvents(DomainError):
    status, code = 422, "too_many_events"


class RateLimited(DomainError):
    status, code = 429, "rate_limited"


def parse_batch(body: bytes) -> list[str]:
    try:
        batch = msgspec.json.decode(body, type=EventBatch)
    except msgspec.ValidationError as exc:
        raise ValidationFailed(
            'The body must be {"events": [...]}.', errors=[FieldError(path="$", message=str(exc))]
        ) from None
    except msgspec.DecodeError:
        raise MalformedBody("The request body is not valid UTF-8 JSON.") from None
    if len(batch.events) > MAX_EVENTS_PER_BATCH:
        raise TooManyEvents(f"At most {MAX_EVENTS_PER_BATCH} events per request; send several batches.")
    return [bytes(raw).decode() for raw in batch.events]


async def land(db: Database, client_key: str, body: bytes) -> Accepted:
    raws = parse_batch(body)
    async with db.driver() as connection, connection.transaction():
        if await repo.hit(connection, client_key) > BATCHES_PER_MINUTE:
            raise RateLimited(
                f"At most {BATCHES_PER_MINUTE} batches per minute per client.", headers={"Retry-After": "60"}
            )
        await repo.land(connection, raws)
    return Accepted(accepted=len(raws))
