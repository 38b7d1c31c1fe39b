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
        description=(
            "One dispute with its SLA clocks (acknowledge, triage, resolution due), the breaches logged so far and the"
            " recovery attempts. Ops, and the project's creator, may read it; anyone else gets 404."
        ),
    )
    async def read(
        self,
        dispute_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        state: AppState,
    ) -> DisputeRead:
        async with state.db.transaction() as session:
            return await services.read(session, principal, dispute_id)

    @get(
        "",
        summary="Disputes, oldest opened first (ops)",
        guards=[allow(Role.ops)],
        operation_id="listDisputes",
        description=(
            "Open and closed disputes for ops, oldest opened first, filtered by status or escalation; paged with "
            "`next_cursor`."
        ),
    )
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
        description=(
            "Stamps the dispute acknowledged by the calling ops user; the first stamp stays, so repeating it changes "
            "nothing."
        ),
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
        description=(
            "Stamps the dispute triaged (and acknowledged, if it was not) by the calling ops user; the first stamp "
            "stays."
        ),
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
        description=(
            "Records an attempt to recover a disputed amount (contact, evidence, write-off) on the dispute's timeline."
            " Needs an `Idempotency-Key`."
        ),
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
