"""HTTP routes of disputes: the SLA document, the ops queue, acknowledge/triage stamps, recovery attempts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from api.auth import Principal, Role, allow
from api.disputes import services
from api.disputes.schemas import DisputePage, DisputeRead, DisputeStatus, RecoveryAttemptCreate, RecoveryAttemptRead
from api.idempotency import Idempotency
from api.pagination import DEFAULT_LIMIT, MAX_LIMIT
from api.state import AppState

Limit = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT)]


class DisputeController(Controller):
    path = "/v1/disputes"
    tags = ["disputes"]

    @get(
        "/{dispute_id:uuid}",
        summary="A dispute with its SLA clocks, breaches and recovery attempts (ops, creator)",
        operation_id="getDispute",
    )
    async def read(
        self,
        dispute_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        state: AppState,
    ) -> DisputeRead:
        async with state.db.transaction() as session:
            return await services.read(session, principal, dispute_id)

    @get("", summary="Disputes, oldest opened first (ops)", guards=[allow(Role.ops)], operation_id="listDisputes")
    async def list_disputes(
        self,
        state: AppState,
        status: Annotated[DisputeStatus | None, QueryParameter()] = None,
        escalated: Annotated[bool | None, QueryParameter()] = None,
        cursor: Annotated[str | None, QueryParameter()] = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> DisputePage:
        async with state.db.transaction() as session:
            return await services.page(session, status=status, escalated=escalated, cursor=cursor, limit=limit)

    @post(
        "/{dispute_id:uuid}/acknowledge",
        status_code=200,
        summary="Acknowledge (stamped once; ops)",
        guards=[allow(Role.ops)],
        operation_id="acknowledgeDispute",
    )
    async def acknowledge(
        self,
        dispute_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        state: AppState,
    ) -> DisputeRead:
        async with state.db.transaction() as session:
            return await services.acknowledge(session, principal, dispute_id, datetime.now(UTC))

    @post(
        "/{dispute_id:uuid}/triage",
        status_code=200,
        summary="Triage (stamped once; acknowledges too; ops)",
        guards=[allow(Role.ops)],
        operation_id="triageDispute",
    )
    async def triage(
        self,
        dispute_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        state: AppState,
    ) -> DisputeRead:
        async with state.db.transaction() as session:
            return await services.triage(session, principal, dispute_id, datetime.now(UTC))

    @post(
        "/{dispute_id:uuid}/recovery-attempts",
        status_code=201,
        summary="Record a recovery attempt (ops)",
        guards=[allow(Role.ops)],
        operation_id="addDisputeRecoveryAttempt",
    )
    async def add_recovery_attempt(
        self,
        dispute_id: FromPath[uuid.UUID],
        data: JSONBody[RecoveryAttemptCreate],
        principal: NamedDependency[Principal],
        idempotency: NamedDependency[Idempotency],
    ) -> Response[RecoveryAttemptRead]:
        return await idempotency.run(
            lambda session: services.add_recovery_attempt(session, principal, dispute_id, data, datetime.now(UTC))
        )
