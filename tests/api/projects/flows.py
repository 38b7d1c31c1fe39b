"""Helpers for tests that need a project: a valid creation body, and a creator's live project."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.conftest import User


def project_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Ceramic mugs",
        "description": "Wheel-thrown mugs.",
        "currency": "EUR",
        "goal_minor": 100_000,
        "reward_tiers": [
            {"title": "One mug", "amount_minor": 2_500, "reward_type": "physical"},
            {"title": "Thank-you video", "amount_minor": 500, "reward_type": "digital"},
        ],
    }
    body.update(overrides)
    return body


async def create_project(client: AsyncTestClient[Litestar], creator: User, **overrides: Any) -> dict[str, Any]:
    response = await client.post("/v1/projects", json=project_body(**overrides), headers=creator.posting())
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result
