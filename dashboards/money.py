"""Money as people read it: integer minor units shown in major units, by the currency's exponent.

The warehouse keeps money in minor units (bigint); finance's CSVs and the dashboards show each amount beside
its major-unit text, e.g. 2500 EUR → "25.00", 1200 JPY → "1200". Exponents are ISO 4217's, as Stripe applies
them (Stripe's zero-decimal currencies, e.g. JPY, KRW; its three-decimal ones, e.g. KWD); any other currency
has two decimals.
"""

from __future__ import annotations

from decimal import Decimal

ZERO_DECIMAL = frozenset(
    {
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    }
)
THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})


def exponent(currency: str) -> int:
    """Digits after the decimal point of `currency`'s major unit."""
    code = currency.upper()
    return 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2


def major_units(amount_minor: int | None, currency: str | None) -> str | None:
    """`amount_minor` of `currency` as major-unit text with exactly the currency's decimals (no float on the way);
    None for a missing amount or currency."""
    if amount_minor is None or not currency:
        return None
    places = exponent(currency)
    value = Decimal(int(amount_minor)).scaleb(-places)
    return f"{value:.{places}f}"
