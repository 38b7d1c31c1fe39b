"""Fixtures of the upload tests: a tus endpoint on the live server, the worker's database and storage."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.settings import Settings
from api.uploads.storage import LocalUploadStorage


@pytest.fixture
async def http(live_url: str, client: AsyncTestClient[Litestar]) -> AsyncIterator[httpx.AsyncClient]:
    """Real HTTP to the live server (tuspy does real HTTP too); `client` empties the tables afterwards."""
    async with httpx.AsyncClient(base_url=live_url, timeout=60) as session:
        yield session


@pytest.fixture
def tus_url(live_url: str, http: httpx.AsyncClient) -> str:
    return f"{live_url}/v1/uploads"


@pytest.fixture
def storage(settings: Settings) -> LocalUploadStorage:
    """The same directory the live server writes to."""
    return LocalUploadStorage(settings.paths.data_dir / "uploads")
