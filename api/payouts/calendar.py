"""Business days for payouts: Monday to Friday minus the public holidays of the payout country.

Holidays come from the `holidays` package (observed days included, e.g. a Saturday holiday moved to
Friday), computed per year on demand, so a schedule crossing the year end needs nothing special.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import cache

import holidays

SETTLEMENT_BUSINESS_DAYS = 2
SATURDAY = 5


@cache
def _public_holidays(country: str) -> holidays.HolidayBase:
    try:
        return holidays.country_holidays(country)
    except NotImplementedError:
        raise ValueError(f"no public holiday calendar for payout country {country!r}") from None


def is_business_day(day: date, country: str) -> bool:
    return day.weekday() < SATURDAY and day not in _public_holidays(country)


def next_business_day(day: date, country: str) -> date:
    """The first business day strictly after `day`."""
    candidate = day + timedelta(days=1)
    while not is_business_day(candidate, country):
        candidate += timedelta(days=1)
    return candidate


def add_business_days(day: date, count: int, country: str) -> date:
    for _ in range(count):
        day = next_business_day(day, country)
    return day


def execution_date(succeeded_at: datetime, country: str) -> date:
    """The next business day after the UTC date the payment's success was finalized."""
    return next_business_day(succeeded_at.astimezone(UTC).date(), country)


def settlement_target_date(execution: date, country: str) -> date:
    return add_business_days(execution, SETTLEMENT_BUSINESS_DAYS, country)
