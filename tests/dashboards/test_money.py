"""Money as finance reads it: minor units in major units by the currency's exponent, exactly."""

from __future__ import annotations

import pytest

from dashboards.money import exponent, major_units
from pipelines.extracts import minor_units


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (2_500, "EUR", "25.00"),
        (-7, "usd", "-0.07"),
        (5, "EUR", "0.05"),
        (0, "GBP", "0.00"),
        (1_200, "JPY", "1200"),
        (-1_200, "KRW", "-1200"),
        (1_234, "KWD", "1.234"),
        (9_223_372_036_854_775_807, "EUR", "92233720368547758.07"),  # the largest bigint, no float on the way
    ],
)
def test_minor_units_are_shown_with_the_currency_s_decimals(amount: int, currency: str, shown: str) -> None:
    assert major_units(amount, currency) == shown
    assert minor_units(shown, currency) == amount  # a report's major units read back to the same minor units


def test_a_missing_amount_or_currency_shows_nothing() -> None:
    assert major_units(None, "EUR") is None
    assert major_units(100, None) is None
    assert [exponent(c) for c in ("EUR", "jpy", "BHD", "XYZ")] == [2, 0, 3, 2]
