"""HTTP routes of supports: prepare, confirm, canonical status (ETag), cancel."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Annotated

import msgspec
from litestar import Controller, Response, get, post
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, HeaderParameter, JSONBody

from api.auth import Principal, Role, allow
from api.errors import problem_specs
from api.idempotency import Idempotency
from api.state import AppState
from api.supports import services
from api.supports.schemas import SupportConfirmed, SupportPrepare, SupportPrepared, SupportRead


class SupportController(Controller):
    path = "/v1"
    tags = ["supports"]

    @post(
        "/projects/{project_id:uuid}/supports/prepare",
        status_code=201,
        summary="Prepare a support (supporter)",
        guards=[allow(Role.supporter)],
        operation_id="prepareSupport",
        description=(
            "Starts backing a project at a reward tier: the support is `prepared` for 24 h until confirmed. Needs an "
            "`Idempotency-Key`."
        ),
    )
    async def prepare(
        self,
        project_id: FromPath[uuid.UUID],
        data: JSONBody[SupportPrepare],
        principal: NamedDependency[Principal],
        idempotency: NamedDependency[Idempotency],
    ) -> Response[SupportPrepared]:
        return await idempotency.run(
            lambda session: services.prepare(session, principal, project_id, data, datetime.now(UTC))
        )

    @post(
        "/supports/{support_id:uuid}/confirm",
        status_code=200,
        summary="Confirm: get a PaymentIntent to pay",
        guards=[allow(Role.supporter)],
        operation_id="confirmSupport",
        responses=problem_specs(502),  # Stripe refused or failed: nothing was kept, retry with the same key
        description=(
            "Creates (or returns) the support's Stripe PaymentIntent; pay it with the client secret. Success is "
            "decided by the webhook only. Needs an `Idempotency-Key`."
        ),
    )
    async def confirm(
        self,
        support_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        idempotency: NamedDependency[Idempotency],
        state: AppState,
    ) -> Response[SupportConfirmed]:
        return await idempotency.run(
            lambda session: services.confirm(session, principal, support_id, state.payments, datetime.now(UTC)),
            status_code=200,
        )

    @get(
        "/supports/{support_id:uuid}",
        summary="Canonical status (poll after checkout; send If-None-Match)",
        response_headers=[
            ResponseHeader(
                name="ETag",
                value='"3f2a9c0e5b7d41f6a8c2e9b0d4f7a1c3"',  # documents the header as a string (its schema)
                description="Send it back as If-None-Match",
                documentation_only=True,
            )
        ],
        responses={304: ResponseSpec(data_container=None, description="Not modified since the ETag sent")},
        operation_id="getSupport",
        description=(
            "The support's canonical status and history, as the webhook decided it. Poll it after checkout; send the "
            "ETag back as `If-None-Match` to get 304 while nothing changed."
        ),
    )
    async def read(
        self,
        support_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        state: AppState,
        if_none_match: Annotated[str | None, HeaderParameter(name="If-None-Match")] = None,
    ) -> Response[SupportRead]:  # the body is encoded here, once, to derive its ETag
        async with state.db.transaction() as session:
            support = await services.read(session, principal, support_id, datetime.now(UTC))
        body = msgspec.json.encode(support)
        tag = _etag(body)
        if _not_modified(if_none_match, tag):
            return Response(b"", status_code=304, headers={"ETag": tag})  # type: ignore[arg-type]
        headers = {"ETag": tag, "Cache-Control": "no-cache"}
        return Response(body, media_type="application/json", headers=headers)  # type: ignore[arg-type]

    @post(
        "/supports/{support_id:uuid}/cancel",
        status_code=200,
        summary="Cancel within 48 h: refund",
        guards=[allow(Role.supporter)],
        operation_id="cancelSupport",
        responses=problem_specs(502),  # Stripe refused or failed: nothing was kept, retry with the same key
        description=(
            "Cancels a succeeded support within its cancellation window (48 h) and refunds it; the refund's webhook "
            "finalises the status. Needs an `Idempotency-Key`."
        ),
    )
    async def cancel(
        self,
        support_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        idempotency: NamedDependency[Idempotency],
        state: AppState,
    ) -> Response[SupportRead]:
        return await idempotency.run(
            lambda session: services.cancel(session, principal, support_id, state.payments, datetime.now(UTC)),
            status_code=200,
        )


# HTTP caching of the status read: its ETag is a digest of the body the client receives.
def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _not_modified(if_none_match: str | None, tag: str) -> bool:
    """RFC 9110 §13.1.2: `*`, or any listed tag equal to ours under weak comparison (`W/` ignored)."""
    if if_none_match is None:
        return False
    candidates = (candidate.strip().removeprefix("W/") for candidate in if_none_match.split(","))
    return any(candidate in ("*", tag) for candidate in candidates)
