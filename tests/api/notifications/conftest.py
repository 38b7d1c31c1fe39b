"""Push through APNs: a stand-in APNs server on loopback, the auth key it trusts, settings that point at it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from api.settings import Settings, settings_from
from tests.api.notifications.apns_server import ApnsServer, apns_env, apns_server, auth_key


@pytest.fixture
def apns_key(tmp_path: Path) -> tuple[Path, ec.EllipticCurvePublicKey]:
    return auth_key(tmp_path)


@pytest.fixture
async def apns(tmp_path: Path, apns_key: tuple[Path, ec.EllipticCurvePublicKey]) -> AsyncIterator[ApnsServer]:
    async with apns_server(tmp_path, apns_key[1]) as server:
        yield server


@pytest.fixture
def apns_settings(tmp_path: Path, apns: ApnsServer, apns_key: tuple[Path, ec.EllipticCurvePublicKey]) -> Settings:
    """What an operator sets to push through APNs, with PATRONAGE_APNS_URL pointing at the stand-in."""
    return settings_from(apns_env(tmp_path, apns_key[0], apns.url))
