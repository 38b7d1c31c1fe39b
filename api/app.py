"""The composition root: `create_app()` wires settings, the database, routes and error handling.

Nothing here runs at import; the database is resolved (embedded server started, migrations applied
when embedded) in the app's lifespan.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

import anyio.to_thread
import msgspec
from litestar import Litestar, Request, Router, get
from litestar.di import Provide
from litestar.logging.config import LoggingConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, Contact, License, SecurityScheme, Tag

from api.auth import authenticate, provide_optional_principal, provide_principal
from api.db.engine import Database, resolve_database_url
from api.disputes.controllers import DisputeController
from api.errors import (
    EXCEPTION_HANDLERS,
    MAX_JSON_DEPTH,
    DocumentedProblems,
    FieldError,
    MalformedBody,
    ValidationFailed,
)
from api.events.controllers import EventsController
from api.idempotency import provide_idempotency
from api.journal.controllers import JournalController
from api.moderation.controllers import ModerationController
from api.notifications.controllers import NotificationController
from api.openapi_examples import DocumentedExamples
from api.openapi_links import DocumentedLinks
from api.payments.controllers import StripeWebhookController
from api.payments.gateway import PaymentGateway
from api.payouts import calendar as payout_calendar
from api.payouts.controllers import PayoutController
from api.projects.controllers import ProjectController
from api.request_headers import DocumentedHeaders
from api.settings import Settings, load_settings
from api.state import AppState
from api.supports.controllers import SupportController
from api.uploads.controllers import UploadController
from api.uploads.digests import RunningDigests
from api.uploads.storage import storage_from

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
API_VERSION = "1.0.0"


class ApiRequest(Request[Any, Any, Any]):
    """Rejects JSON nested deeper than 64 levels, and text PostgreSQL cannot store, before any handler sees it."""

    async def json(self) -> Any:
        try:
            value = await super().json()
        except (UnicodeDecodeError, RecursionError) as exc:
            raise MalformedBody("The request body is not valid UTF-8 JSON.") from exc
        _check_json(value)
        return value


# A JSON location as a linked list (parent, key), rendered only when a problem names it.
_Location = tuple[Any, str | int] | None


def _check_json(value: Any) -> None:
    stack: list[tuple[Any, int, _Location]] = [(value, 1, None)]
    while stack:
        node, depth, location = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise MalformedBody(f"JSON nested deeper than {MAX_JSON_DEPTH} levels is not accepted.")
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, child in items:
            if (isinstance(child, str) and "\x00" in child) or (isinstance(key, str) and "\x00" in key):
                _reject_nul((location, key))
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1, (location, key)))


def _reject_nul(location: _Location) -> None:
    """PostgreSQL text cannot hold U+0000: refused here as invalid input rather than failing on insert."""
    keys: list[str | int] = []
    while location is not None:
        location, key = location
        keys.append(key)
    path = "$" + "".join(f"[{key}]" if isinstance(key, int) else f".{key}" for key in reversed(keys))
    raise ValidationFailed(
        "Text must not contain NUL (U+0000) characters.",
        errors=[FieldError(path=path, message="contains U+0000")],
    )


class Health(msgspec.Struct):
    status: str


@get(
    "/healthz",
    tags=["ops"],
    summary="Liveness: answers without touching the database",
    opt={"problems": False},
    operation_id="getHealth",
    description=(
        "Answers 200 while the process serves requests; it touches neither the database nor anything else, so a "
        "load balancer can poll it cheaply."
    ),
)
async def healthz() -> Health:
    return Health(status="ok")


TAGS = {  # every operation's tag, declared with what it groups (the OpenAPI document's table of contents)
    "projects": "Creators' projects, their reward tiers and campaign updates, and the feed of live projects.",
    "supports": "Backing a project: prepare, confirm (pay through Stripe), the canonical status, cancel.",
    "payments": "Stripe's webhook: the only source of payment finality.",
    "journal": "The double-entry journal, its balances and reconciliation against Stripe (ops).",
    "payouts": "Payouts to creators on business days.",
    "disputes": "Disputes with their SLA clocks, acknowledgement, triage and recovery attempts.",
    "notifications": "The in-app inbox, contact details, devices for push, and the queue's health (ops).",
    "moderation": "Reports on projects, review cases and decisions.",
    "uploads": "Resumable video uploads (tus 1.0.0) and their processing status.",
    "events": "Client product events, landed for the pipeline to validate.",
    "ops": "Liveness.",
}


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Patronage API",
        version=API_VERSION,
        description="Creator-support backend: projects, supports, Stripe finality, journal, payouts, disputes.",
        path="/schema",
        contact=Contact(name="Patronage API team"),
        license=License(name="All rights reserved (no license chosen yet)", identifier="LicenseRef-AllRightsReserved"),
        tags=[Tag(name=name, description=description) for name, description in TAGS.items()],
        components=Components(
            security_schemes={"BearerAuth": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")}
        ),
        security=[{"BearerAuth": []}],
    )


def create_app(settings: Settings | None = None, *, database_url: str | None = None) -> Litestar:
    """Build the app. `database_url` overrides where the database is (tests); else settings decide."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        cfg = app.state.settings
        url = database_url
        if url is None:
            url = await anyio.to_thread.run_sync(resolve_database_url, cfg.database)
            if cfg.auto_migrate:
                from api.db.migrate import upgrade

                await anyio.to_thread.run_sync(upgrade, url)
        app.state.db = Database.connect(url, pool_size=cfg.database.pool_size)
        # The holiday calendar takes a moment to build: not on the first webhook's time.
        await anyio.to_thread.run_sync(payout_calendar.is_business_day, date.today(), cfg.payout_country)
        app.state.payments = PaymentGateway(cfg.stripe)
        app.state.upload_storage = storage_from(cfg)
        app.state.upload_digests = RunningDigests()
        # Everything loaded so far lives as long as the process: out of the collector's sight, a full
        # collection (which units of work's reference cycles set off now and then) scans only what
        # requests allocate, instead of pausing every request for tens of milliseconds.
        gc.freeze()
        try:
            yield
        finally:
            await app.state.db.dispose()

    return Litestar(
        route_handlers=[
            healthz,  # liveness: nothing between it and the response (it is the benchmarks' reference too)
            StripeWebhookController,  # authenticated by its signature only
            Router(
                "/",
                guards=[authenticate],  # the caller, before any body is read: 401 before 422
                route_handlers=[
                    ProjectController,
                    SupportController,
                    JournalController,
                    EventsController,
                    PayoutController,
                    DisputeController,
                    NotificationController,
                    ModerationController,
                    UploadController,
                ],
            ),
        ],
        dependencies={  # per request; the app's long-lived parts are in its typed state (api/state.py)
            "principal": Provide(provide_principal),
            "optional_principal": Provide(provide_optional_principal),
            "idempotency": Provide(provide_idempotency),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=[lifespan],
        state=AppState({"settings": settings or load_settings()}),
        request_class=ApiRequest,
        request_max_body_size=MAX_BODY_BYTES,
        openapi_config=openapi_config(),
        plugins=[DocumentedProblems(), DocumentedHeaders(), DocumentedLinks(), DocumentedExamples()],
        logging_config=LoggingConfig(configure_root_logger=False),  # the process's (CLI's) logging setup stays
        debug=False,
    )
