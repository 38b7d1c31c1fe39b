"""Bearer JWT authentication (HS256) and the role rules every domain reuses.

401 for a missing/expired/invalid token, 403 for a role that may not use a route, and 404 (never the
data) for someone else's resource. The first two are guards, so they are answered before a body is
read: `authenticate` (every API route; a route opens itself with `opt={"access": ...}`) and each
route's `guards=[allow(...)]`; the last is `Principal.ensure_owner`, in the services.
"""

from __future__ import annotations

import enum
import functools
import time
import uuid
from dataclasses import dataclass
from typing import Any, Final, Literal, cast

import jwt
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Guard

from api.errors import Forbidden, NotFound, Unauthorized
from api.settings import AuthSettings


class Role(enum.StrEnum):
    supporter = "supporter"
    creator = "creator"
    ops = "ops"


@dataclass(frozen=True)
class Principal:
    user_id: uuid.UUID
    role: Role

    def require(self, *roles: Role) -> Principal:
        """Role-level refusal: 403 unless the caller has one of `roles`."""
        if self.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise Forbidden(f"This route is for the role(s): {allowed}.")
        return self

    @property
    def is_ops(self) -> bool:
        return self.role is Role.ops

    def ensure_owner(self, owner_id: uuid.UUID, what: str) -> None:
        """Resource-level refusal: someone else's resource is answered as if it did not exist."""
        if not self.is_ops and owner_id != self.user_id:
            raise NotFound(f"{what} not found.")


def issue_token(settings: AuthSettings, user_id: uuid.UUID, role: Role, *, ttl_seconds: int = 3600) -> str:
    now = int(time.time())
    claims = {"sub": str(user_id), "role": role.value, "iat": now, "exp": now + ttl_seconds}
    return jwt.encode(claims, settings.jwt_secret, algorithm=settings.jwt_algorithm)


def decode_token(settings: AuthSettings, token: str) -> Principal:
    principal, expires_at = _verified(settings.jwt_secret, settings.jwt_algorithm, token)
    if time.time() >= expires_at:
        raise Unauthorized("The token has expired.")
    return principal


@functools.lru_cache(maxsize=8192)
def _verified(secret: str, algorithm: str, token: str) -> tuple[Principal, float]:
    """A token's signature and claims, checked once per process: an iOS client sends the same token
    on every poll, and verifying it was a fifth of a status read's CPU. Only tokens that pass are
    remembered (an exception is never cached); expiry, the one check whose verdict changes with
    time, is left to the caller on every use."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=[algorithm],
            options={"require": ["exp", "sub"], "verify_exp": False},
        )
    except jwt.PyJWTError:
        raise Unauthorized("The token is invalid.") from None
    try:
        principal = Principal(user_id=uuid.UUID(str(claims["sub"])), role=Role(str(claims.get("role"))))
        expires_at = float(claims["exp"])
    except (ValueError, TypeError):
        raise Unauthorized("The token's sub must be a UUID and its role one of supporter, creator, ops.") from None
    return principal, expires_at


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = connection.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Use 'Authorization: Bearer <JWT>'.")
    return token.strip()


_CALLER = "patronage.caller"  # the request's decoded caller, kept in its ASGI scope


def caller(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    """The caller (None without a token; 401 for a bad one), decoded once per request."""
    scope = cast(dict[str, Any], connection.scope)  # not `connection.state`: that builds a State per access
    if _CALLER not in scope:
        token = bearer_token(connection)
        settings: AuthSettings = connection.app.state.settings.auth
        scope[_CALLER] = None if token is None else decode_token(settings, token)
    principal: Principal | None = scope[_CALLER]
    return principal


def signed_in(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    principal = caller(connection)
    if principal is None:
        raise Unauthorized("Authentication is required.", headers={"WWW-Authenticate": "Bearer"})
    return principal


Access = Literal["signed_in", "optional", "public"]
ACCESS: Final = "access"  # the route's `opt` key; "signed_in" unless the route says otherwise


async def authenticate(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Guard of the API's routes (`/healthz`, the schema and the webhook aside; see `create_app`), run
    before a request's body is read, so 401 comes before any 422. Every route needs a valid token unless
    it says `opt={"access": "optional"}` (signed-out callers welcome, a bad token is still 401) or
    `"public"` (no token looked at), whatever its parameters are called."""
    access: Access = handler.opt.get(ACCESS, "signed_in")
    if access == "signed_in":
        signed_in(connection)
    elif access == "optional":
        caller(connection)


def allow(*roles: Role) -> Guard:
    """Route guard: role-level refusal (403) before the request's body is read."""

    async def guard(
        connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
    ) -> None:  # async: no thread hop
        signed_in(connection).require(*roles)

    return guard


async def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    """Dependency `principal`: the authenticated caller, or 401."""
    return signed_in(request)


async def provide_optional_principal(request: Request[Any, Any, Any]) -> Principal | None:
    """Dependency `optional_principal`: routes open to signed-out callers (a bad token is still 401)."""
    return caller(request)
