"""Fixtures of the disputes tests: a `Database` for calling the sweep directly, an app with other SLA settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.settings import DisputeSettings, Settings, settings_from


@pytest.fixture(scope="session")
def short_sla_settings(settings: Settings) -> Settings:
    """The suite's settings with SLA values read from the environment variables (as an operator sets them)."""
    disputes = settings_from(
        {
            "PATRONAGE_JWT_SECRET": settings.auth.jwt_secret,
            "PATRONAGE_DATA_DIR": str(settings.paths.data_dir),
            "PATRONAGE_DISPUTE_ACK_HOURS": "2",
            "PATRONAGE_DISPUTE_TRIAGE_HOURS": "5",
            "PATRONAGE_DISPUTE_ESCALATION_MINOR": "2000",
        }
    ).disputes
    assert disputes == DisputeSettings(ack_hours=2, triage_hours=5, escalation_minor=2000)
    return replace(settings, disputes=disputes)


@pytest.fixture(scope="session")
async def short_sla_client(short_sla_settings: Settings, database_url: str) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """A second app over the same database, configured with short clocks and a low escalation threshold."""
    async with AsyncTestClient(create_app(short_sla_settings, database_url=database_url)) as client:
        yield client
