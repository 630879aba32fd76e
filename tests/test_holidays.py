"""New Year's Day and the Spring Festival, found from the lunar calendar."""

from __future__ import annotations

import datetime as dt

import pytest

from common.clock import spring_festival, upcoming_holidays


@pytest.mark.parametrize(
    ("year", "day"),
    [(2026, dt.date(2026, 2, 17)), (2027, dt.date(2027, 2, 6)), (2028, dt.date(2028, 1, 26))],
)
def test_the_spring_festival_falls_on_the_first_day_of_the_lunar_year(year, day):
    assert spring_festival(year) == day


def test_both_holidays_of_the_campaign_winter_are_found_in_date_order():
    assert upcoming_holidays(dt.date(2026, 11, 25), within_days=90) == [
        ("new_year", dt.date(2027, 1, 1)),
        ("spring_festival", dt.date(2027, 2, 6)),
    ]


def test_today_itself_is_not_upcoming_but_the_last_day_of_the_window_is():
    assert upcoming_holidays(dt.date(2027, 1, 1), within_days=36) == [
        ("spring_festival", dt.date(2027, 2, 6))
    ]
    assert upcoming_holidays(dt.date(2027, 1, 1), within_days=35) == []
    assert upcoming_holidays(dt.date(2026, 12, 31), within_days=1) == [
        ("new_year", dt.date(2027, 1, 1))
    ]
    assert upcoming_holidays(dt.date(2026, 12, 31), within_days=0) == []


def test_a_window_across_the_year_end_takes_the_holidays_of_the_next_year():
    # 2028's Spring Festival (26 January) comes before 2027's would have, a year on.
    assert upcoming_holidays(dt.date(2027, 12, 20), within_days=40) == [
        ("new_year", dt.date(2028, 1, 1)),
        ("spring_festival", dt.date(2028, 1, 26)),
    ]
    assert upcoming_holidays(dt.date(2027, 12, 20), within_days=36) == [
        ("new_year", dt.date(2028, 1, 1))
    ]


def test_a_spring_festival_already_past_this_year_is_not_upcoming():
    assert upcoming_holidays(dt.date(2027, 2, 6), within_days=300) == []
    assert upcoming_holidays(dt.date(2027, 2, 5), within_days=300) == [
        ("spring_festival", dt.date(2027, 2, 6))
    ]


def test_a_window_over_a_year_long_sees_holidays_of_two_years():
    assert upcoming_holidays(dt.date(2026, 3, 1), within_days=400) == [
        ("new_year", dt.date(2027, 1, 1)),
        ("spring_festival", dt.date(2027, 2, 6)),
    ]
    found = upcoming_holidays(dt.date(2026, 1, 2), within_days=800)
    assert [day for _, day in found] == sorted(day for _, day in found)
    assert [name for name, _ in found] == ["spring_festival", "new_year", "spring_festival",
                                           "new_year", "spring_festival"]
