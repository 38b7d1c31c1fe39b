"""Idempotency-Key handling for every creating POST.

The key is claimed in its own short transaction (so duplicates arriving meanwhile see it in flight),
then the route's work and the stored response commit together: a resource exists if and only if
its response is stored. Only successful outcomes are stored; a failed attempt releases the key.
A claim whose lease ran out (a crashed process) may be taken over by the same request again.
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
LEASE = timedelta(seconds=60)
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


_CLAIM = text(
    """
    insert into idempotency_keys (user_id, key, fingerprint, state, locked_until)
    values (:user_id, :key, :fingerprint, 'in_flight', now() + cast(:lease as interval))
    on conflict (user_id, key) do update
       set fingerprint = excluded.fingerprint, state = 'in_flight', created_at = now(),
           locked_until = excluded.locked_until, response_status = null, response_body = null
     where idempotency_keys.created_at < now() - cast(:ttl as interval)
        or (idempotency_keys.state = 'in_flight' and idempotency_keys.locked_until < now()
            and idempotency_keys.fingerprint = excluded.fingerprint)
    returning 1
    """
)
_EXISTING = text(
    "select fingerprint, state, response_status, response_body from idempotency_keys "
    "where user_id = :user_id and key = :key"
)
_FINISH = text(
    "update idempotency_keys set state = 'done', response_status = :status, response_body = :body "
    "where user_id = :user_id and key = :key and fingerprint = :fingerprint"
)
_RELEASE = text(
    "delete from idempotency_keys where user_id = :user_id and key = :key "
    "and fingerprint = :fingerprint and state = 'in_flight'"
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
        replay = await self._claim(ident)
        if replay is not None:
            return replay
        try:
            async with self.db.transaction() as session:
                result = await work(session)
                encoded = msgspec.json.encode(result)
                await session.execute(_FINISH, {**ident, "status": status_code, "body": encoded})
        except BaseException:
            async with self.db.transaction() as session:
                await session.execute(_RELEASE, ident)
            raise
        return Response(encoded, status_code=status_code, media_type="application/json")

    def _key(self) -> str:
        key = self.request.headers.get("idempotency-key")
        if key is None or not 1 <= len(key) <= MAX_KEY_LENGTH:
            raise IdempotencyKeyRequired(f"Send an Idempotency-Key header of 1 to {MAX_KEY_LENGTH} characters.")
        return key

    async def _claim(self, ident: dict[str, Any]) -> Response[Any] | None:
        """Claim the key (None) or answer from what is stored; retries once if the row vanished meanwhile."""
        for _ in range(3):
            async with self.db.transaction() as session:
                if (await session.execute(_CLAIM, {**ident, "lease": LEASE, "ttl": TTL})).first() is not None:
                    return None
                row = (await session.execute(_EXISTING, ident)).first()
            if row is None:
                continue  # released by a failed first attempt between our two statements
            if row.fingerprint != ident["fingerprint"]:
                raise IdempotencyKeyReused("This Idempotency-Key was used with a different request.")
            if row.state == "in_flight":
                raise IdempotencyKeyInUse("A request with this Idempotency-Key is still being processed.")
            return Response(
                bytes(row.response_body),
                status_code=row.response_status,
                media_type="application/json",
                headers={REPLAY_HEADER: "true"},
            )
        raise IdempotencyKeyInUse("A request with this Idempotency-Key is still being processed.")


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
