"""What the release worker step needs: its own database pool and the Stripe gateway (localstripe)."""

from __future__ import annotations

import pytest

from api.payments.gateway import PaymentGateway
from api.settings import Settings


@pytest.fixture
def gateway(settings: Settings) -> PaymentGateway:
    return PaymentGateway(settings.stripe)
