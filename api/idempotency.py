"""Idempotency-Key handling for every creating POST.

A request holds its key with a transaction-scoped advisory lock, and the route's work and the stored
response commit in that same transaction: a resource exists if and only if its response is stored, and
a failed attempt leaves nothing behind. While the first request with a key runs, a second one gets 409
`idempotency_key_in_use`; once it committed, a retry replays its answer. The lock dies with its
transaction, whatever ends it: an error, a crashed API process, a lost connection, PostgreSQL
restarting. (Before, the claim was a committed row with a 60 s lease: a request cut off by a database
restart could not release it, and its retries got 409 for up to a minute after the database was back.)
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.di import NamedDependency
from litestar.openapi.spec import OpenAPIType, Parameter, Schema
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import Principal
from api.db.engine import Database
from api.errors import DomainError
from api.state import AppState

TTL = timedelta(hours=24)
MAX_KEY_LENGTH = 255
REPLAY_HEADER = "Idempotent-Replayed"


class IdempotencyKeyRequired(DomainError):
    status, code = 400, "idempotency_key_required"


class IdempotencyKeyReused(DomainError):
    status, code = 422, "idempotency_key_reused"


class IdempotencyKeyInUse(DomainError):
    """The first request with the key is still running: retry in a second (api.md)."""

    status, code = 409, "idempotency_key_in_use"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"Retry-After": "1"})


_HOLD = text("select pg_try_advisory_xact_lock(hashtextextended(:lock, 0))")
_STORED = text(
    "select fingerprint, response_status, response_body from idempotency_keys "
    "where user_id = :user_id and key = :key and created_at >= now() - cast(:ttl as interval)"
)
_STORE = text(
    """
    insert into idempotency_keys (user_id, key, fingerprint, response_status, response_body)
    values (:user_id, :key, :fingerprint, :status, :body)
    on conflict (user_id, key) do update
       set fingerprint = excluded.fingerprint, created_at = now(),
           response_status = excluded.response_status, response_body = excluded.response_body
    """
)


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), query.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


@dataclass
class Idempotency:
    """Dependency `idempotency`: run a creating route's work at most once per (user, key)."""

    db: Database
    principal: Principal
    request: Request[Any, Any, Any]

    async def run(
        self, work: Callable[[AsyncSession], Awaitable[msgspec.Struct]], *, status_code: int = 201
    ) -> Response[Any]:
        key = self._key()
        body = await self.request.body()
        ident = {
            "user_id": self.principal.user_id,
            "key": key,
            "fingerprint": fingerprint(self.request.method, self.request.url.path, self.request.url.query, body),
        }
        async with self.db.transaction() as session:
            replay = await self._hold(session, ident)
            if replay is not None:
                return replay
            result = await work(session)
            encoded = msgspec.json.encode(result)
            await session.execute(_STORE, {**ident, "status": status_code, "body": encoded})
        return Response(encoded, status_code=status_code, media_type="application/json")

    def _key(self) -> str:
        key = self.request.headers.get("idempotency-key")
        if key is None or not 1 <= len(key) <= MAX_KEY_LENGTH:
            raise IdempotencyKeyRequired(f"Send an Idempotency-Key header of 1 to {MAX_KEY_LENGTH} characters.")
        return key

    async def _hold(self, session: AsyncSession, ident: dict[str, Any]) -> Response[Any] | None:
        """Hold the key for this transaction (None: the work is this request's to do) or answer from what is stored.
        A stored answer older than TTL is forgotten: the key may be used again."""
        lock = f"idempotency:{ident['user_id']}:{ident['key']}"
        if await session.scalar(_HOLD, {"lock": lock}) is not True:
            raise IdempotencyKeyInUse("A request with this Idempotency-Key is still being processed.")
        row = (await session.execute(_STORED, {**ident, "ttl": TTL})).first()
        if row is None:
            return None
        if row.fingerprint != ident["fingerprint"]:
            raise IdempotencyKeyReused("This Idempotency-Key was used with a different request.")
        return Response(
            bytes(row.response_body),
            status_code=row.response_status,
            media_type="application/json",
            headers={REPLAY_HEADER: "true"},
        )


async def provide_idempotency(
    request: Request[Any, Any, Any], state: AppState, principal: NamedDependency[Principal]
) -> Idempotency:
    return Idempotency(db=state.db, principal=principal, request=request)


# --- the header in the OpenAPI document (added to every route using `Idempotency` by api/request_headers.py)

IDEMPOTENCY_KEY_PARAMETER = Parameter(
    name="Idempotency-Key",
    param_in="header",
    required=True,
    schema=Schema(type=OpenAPIType.STRING, min_length=1, max_length=MAX_KEY_LENGTH),
    description="Retries with the same key and body replay the first answer (`Idempotent-Replayed: true`); "
    "missing: 400 `idempotency_key_required`",
)
