"""HTTP routes of the journal, balances and reconciliation checks (ops only)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from api.auth import Principal, Role, allow
from api.errors import problem_specs
from api.idempotency import Idempotency
from api.journal import reconciliation, services
from api.journal.chart import EntryType
from api.journal.schemas import Balances, JournalPage, ReconciliationCheckRead, ReconciliationRequest
from api.pagination import DEFAULT_LIMIT, MAX_LIMIT, representable_instant
from api.state import AppState

Limit = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT)]


class JournalController(Controller):
    path = "/v1"
    tags = ["journal"]

    @get(
        "/journal/entries",
        summary="Journal entries with their lines, oldest first (ops)",
        guards=[allow(Role.ops)],
        operation_id="listJournalEntries",
        description=(
            "Journal entries with their balanced lines, oldest first, filtered by entry type, project or `since`; "
            "paged with `next_cursor`."
        ),
    )
    async def entries(
        self,
        state: AppState,
        entry_type: Annotated[EntryType | None, QueryParameter()] = None,
        project_id: Annotated[uuid.UUID | None, QueryParameter()] = None,
        since: Annotated[datetime | None, QueryParameter(description="occurred_at ≥ since")] = None,
        cursor: Annotated[str | None, QueryParameter()] = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> JournalPage:
        since = representable_instant(since, "$.since") if since else None
        async with state.db.transaction() as session:
            return await services.entries(
                session, entry_type=entry_type, project_id=project_id, since=since, cursor=cursor, limit=limit
            )

    @get(
        "/journal/balances",
        summary="Balance per account, project and currency; totals are always 0 (ops)",
        guards=[allow(Role.ops)],
        operation_id="getJournalBalances",
        description=(
            "The double-entry journal's balance per account, project and currency. Every currency's total is 0 by "
            "construction."
        ),
    )
    async def balances(
        self,
        state: AppState,
    ) -> Balances:
        async with state.db.transaction() as session:
            return await services.balances(session)

    @post(
        "/reconciliation/checks",
        status_code=201,
        summary="Reconcile the journal against Stripe (ops)",
        guards=[allow(Role.ops)],
        operation_id="runReconciliationCheck",
        responses=problem_specs(502),  # Stripe refused or failed: no check was stored
        description=(
            "Compares the journal with Stripe's balance transactions per UTC day and category for the given dates, and"
            " stores the result. Needs an `Idempotency-Key`."
        ),
    )
    async def run_check(
        self,
        data: JSONBody[ReconciliationRequest],
        principal: NamedDependency[Principal],
        idempotency: NamedDependency[Idempotency],
        state: AppState,
    ) -> Response[ReconciliationCheckRead]:
        return await idempotency.run(lambda session: reconciliation.run_check(session, state.payments, principal, data))

    @get(
        "/reconciliation/checks/{check_id:uuid}",
        summary="A reconciliation check's results (ops)",
        guards=[allow(Role.ops)],
        operation_id="getReconciliationCheck",
        description=(
            "A stored reconciliation check: per day and category, both totals, the difference and the object ids that "
            "differ."
        ),
    )
    async def get_check(
        self,
        check_id: FromPath[uuid.UUID],
        state: AppState,
    ) -> ReconciliationCheckRead:
        async with state.db.transaction() as session:
            return await reconciliation.get_check(session, check_id)
