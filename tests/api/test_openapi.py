"""The committed OpenAPI snapshot (what iOS generates its client from) matches the app."""

from __future__ import annotations

import json

from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.cli import OPENAPI_SNAPSHOT, openapi_document
from api.settings import Settings


def test_snapshot_is_current(settings: Settings) -> None:
    assert OPENAPI_SNAPSHOT.read_text() == openapi_document(settings), (
        "api/openapi.json is stale: run `uv run patronage openapi` and commit it"
    )


async def test_served_document_matches_the_snapshot(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    served = response.json()
    assert served == json.loads(OPENAPI_SNAPSHOT.read_text())
    assert "/v1/projects" in served["paths"]
    assert served["components"]["securitySchemes"]["BearerAuth"]["scheme"] == "bearer"
