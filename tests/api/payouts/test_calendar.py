"""Business days: weekends, public holidays of the payout country, month and year ends."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from api.payouts import calendar


@pytest.mark.parametrize(
    ("finalized", "execution"),
    [
        (datetime(2026, 11, 23, 15, 0, tzinfo=UTC), date(2026, 11, 24)),  # Monday → Tuesday
        (datetime(2026, 11, 20, 23, 59, tzinfo=UTC), date(2026, 11, 23)),  # Friday → Monday
        (datetime(2026, 11, 21, 9, 0, tzinfo=UTC), date(2026, 11, 23)),  # Saturday → Monday
        (datetime(2026, 11, 22, 9, 0, tzinfo=UTC), date(2026, 11, 23)),  # Sunday → Monday
        (datetime(2026, 11, 25, 12, 0, tzinfo=UTC), date(2026, 11, 27)),  # Wednesday, Thanksgiving Thursday
        (datetime(2026, 11, 26, 12, 0, tzinfo=UTC), date(2026, 11, 27)),  # on Thanksgiving itself
        (datetime(2026, 12, 24, 12, 0, tzinfo=UTC), date(2026, 12, 28)),  # Christmas Friday, then the weekend
        (datetime(2026, 12, 31, 12, 0, tzinfo=UTC), date(2027, 1, 4)),  # year end: New Year Friday, weekend
        (datetime(2026, 9, 30, 12, 0, tzinfo=UTC), date(2026, 10, 1)),  # month end: the 1st is a Thursday
        (datetime(2026, 10, 30, 12, 0, tzinfo=UTC), date(2026, 11, 2)),  # month end on a Friday
        (datetime(2027, 7, 2, 12, 0, tzinfo=UTC), date(2027, 7, 6)),  # Independence Day observed on Monday
    ],
)
def test_execution_is_the_next_us_business_day_after_the_utc_date(finalized: datetime, execution: date) -> None:
    assert calendar.execution_date(finalized, "US") == execution


def test_the_utc_date_counts_not_the_local_one() -> None:
    # Thursday 20:00 in New York is already Friday in UTC: paid out on Monday, not on Friday.
    new_york = timezone(timedelta(hours=-5))
    assert calendar.execution_date(datetime(2026, 11, 19, 20, 0, tzinfo=new_york), "US") == date(2026, 11, 23)


@pytest.mark.parametrize(
    ("execution", "settlement"),
    [
        (date(2026, 11, 24), date(2026, 11, 27)),  # Tuesday + 2 skips Thanksgiving
        (date(2026, 11, 19), date(2026, 11, 23)),  # Thursday + 2 crosses the weekend
        (date(2026, 12, 30), date(2027, 1, 4)),  # crosses New Year's Day and the year
        (date(2026, 12, 23), date(2026, 12, 28)),  # Christmas Friday
        (date(2026, 1, 29), date(2026, 2, 2)),  # crosses a month end and a weekend
    ],
)
def test_settlement_target_is_two_business_days_after_execution(execution: date, settlement: date) -> None:
    assert calendar.settlement_target_date(execution, "US") == settlement


def test_another_country_has_its_own_holidays() -> None:
    christmas_eve = datetime(2026, 12, 24, 12, 0, tzinfo=UTC)
    assert calendar.execution_date(christmas_eve, "US") == date(2026, 12, 28)
    assert calendar.execution_date(christmas_eve, "GB") == date(2026, 12, 29)  # Boxing Day observed on Monday
    labour_day_eve = datetime(2026, 4, 30, 12, 0, tzinfo=UTC)
    assert calendar.execution_date(labour_day_eve, "US") == date(2026, 5, 1)
    assert calendar.execution_date(labour_day_eve, "DE") == date(2026, 5, 4)  # 1 May is a holiday in Germany
    assert calendar.is_business_day(date(2026, 11, 26), "DE")  # no Thanksgiving there
    assert not calendar.is_business_day(date(2026, 11, 26), "US")


def test_an_unknown_country_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="'QQ'"):
        calendar.next_business_day(date(2026, 11, 27), "QQ")
