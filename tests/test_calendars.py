"""Non-working-day calendars and working-day arithmetic (RULES.md section 3)."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from purdah.calendars import (
    CalendarKind,
    calendar,
    parse_extra_days,
    working_days_before,
)
from purdah.errors import CalendarCoverageError, InputError

ALL_KINDS = list(CalendarKind)


@pytest.mark.parametrize("kind", ALL_KINDS)
@pytest.mark.parametrize("year", [2013, 2024, 2027, 2031, 2040])
def test_christmas_eve_christmas_day_and_good_friday_never_count(kind, year):
    cal = calendar(kind)
    good_friday = {
        2013: date(2013, 3, 29),
        2024: date(2024, 3, 29),
        2027: date(2027, 3, 26),
        2031: date(2031, 4, 11),
        2040: date(2040, 3, 30),
    }[year]
    assert not cal.is_working_day(date(year, 12, 24))
    assert not cal.is_working_day(date(year, 12, 25))
    assert not cal.is_working_day(good_friday)


@pytest.mark.parametrize("kind", [k for k in ALL_KINDS if k is not CalendarKind.COL])
def test_weekends_never_count(kind):
    cal = calendar(kind)
    assert cal.reason(date(2026, 5, 2)) == "Saturday"
    assert cal.reason(date(2026, 5, 3)) == "Sunday"
    assert cal.is_working_day(date(2026, 5, 5))


@pytest.mark.parametrize(
    "day, name",
    [
        (date(2022, 6, 3), "Platinum Jubilee"),
        (date(2022, 9, 19), "State Funeral"),
        (date(2023, 5, 8), "Coronation"),
    ],
)
@pytest.mark.parametrize("kind", [CalendarKind.EW, CalendarKind.ANY_UK, CalendarKind.COL])
def test_one_off_bank_holidays_count_as_non_working(kind, day, name):
    reason = calendar(kind).reason(day)
    assert reason is not None and name.lower() in reason.lower()


def test_substitute_days_are_non_working():
    ew = calendar(CalendarKind.EW)
    assert not ew.is_working_day(date(2022, 12, 27))  # Christmas Day on a Sunday
    assert not ew.is_working_day(date(2026, 12, 28))  # Boxing Day on a Saturday


def test_scotland_plus_counts_easter_monday_but_not_late_august():
    sct = calendar(CalendarKind.SCT_PLUS)
    assert sct.reason(date(2026, 4, 6)) is not None  # Easter Monday: EC timetables skip it
    assert not sct.is_working_day(date(2026, 1, 2))  # 2 January
    assert not sct.is_working_day(date(2026, 8, 3))  # first Monday of August
    assert not sct.is_working_day(date(2026, 11, 30))  # St Andrew's Day
    assert sct.is_working_day(date(2026, 8, 31))  # E&W late summer holiday is a working day


def test_st_andrews_day_substitute():
    # 30 November 2025 is a Sunday: the substitute is Monday 1 December.
    assert not calendar(CalendarKind.SCT_PLUS).is_working_day(date(2025, 12, 1))


def test_northern_ireland_holidays():
    ni = calendar(CalendarKind.NI)
    assert not ni.is_working_day(date(2027, 3, 17))  # St Patrick's Day
    assert not ni.is_working_day(date(2027, 7, 12))  # Battle of the Boyne
    assert calendar(CalendarKind.EW).is_working_day(date(2027, 3, 17))


def test_any_uk_is_the_union_of_the_nations():
    uk = calendar(CalendarKind.ANY_UK)
    for day in (
        date(2027, 3, 17),
        date(2027, 7, 12),
        date(2027, 8, 2),
        date(2027, 8, 30),
        date(2027, 11, 30),
        date(2027, 3, 29),
    ):
        assert not uk.is_working_day(day), day


def test_city_of_london_easter_break_is_thursday_to_tuesday():
    col = calendar(CalendarKind.COL)
    # Easter Day 2025 is 20 April.
    for day in (date(2025, 4, 17), date(2025, 4, 18), date(2025, 4, 21), date(2025, 4, 22)):
        assert not col.is_working_day(day), day
    assert col.is_working_day(date(2025, 4, 16))
    assert col.is_working_day(date(2025, 4, 23))
    assert calendar(CalendarKind.EW).is_working_day(date(2025, 4, 22))


def test_city_of_london_christmas_break():
    col = calendar(CalendarKind.COL)
    # 2026: Christmas Day Friday; Boxing Day Saturday, substitute Monday 28th.
    # Break: Thursday 24th (last weekday before) to Tuesday 29th (first weekday after
    # Christmas Day that is not a bank holiday).
    for day in (date(2026, 12, 24), date(2026, 12, 28), date(2026, 12, 29)):
        assert not col.is_working_day(day), day
    assert col.is_working_day(date(2026, 12, 23))
    assert col.is_working_day(date(2026, 12, 30))
    assert calendar(CalendarKind.EW).is_working_day(date(2026, 12, 29))
    # 2027: Christmas Day Saturday; break runs from Friday 24th to Wednesday 29th.
    assert not col.is_working_day(date(2027, 12, 29))
    assert col.is_working_day(date(2027, 12, 23))


def test_extra_day_of_mourning_is_not_counted():
    plain = calendar(CalendarKind.EW)
    mourning = calendar(CalendarKind.EW, {date(2026, 4, 14): "national day of mourning"})
    assert plain.is_working_day(date(2026, 4, 14))
    assert mourning.reason(date(2026, 4, 14)) == "national day of mourning"
    poll = date(2026, 5, 7)
    assert working_days_before(poll, 25, mourning) == working_days_before(poll, 26, plain)


def test_working_days_before_skips_the_poll_day_itself():
    cal = calendar(CalendarKind.EW)
    assert working_days_before(date(2026, 5, 7), 1, cal) == date(2026, 5, 6)
    # Monday poll: day 1 is the Friday before.
    assert working_days_before(date(2026, 5, 11), 1, cal) == date(2026, 5, 8)


def test_working_days_before_rejects_a_count_below_one():
    with pytest.raises(InputError):
        working_days_before(date(2026, 5, 7), 0, calendar(CalendarKind.EW))


def test_a_year_the_holiday_data_does_not_cover_is_an_error_not_a_guess():
    with pytest.raises(CalendarCoverageError, match="not 2101"):
        working_days_before(date(2101, 1, 20), 25, calendar(CalendarKind.EW))


def test_parse_extra_days():
    assert parse_extra_days(["2022-09-19=State funeral", "2026-01-05"]) == {
        date(2022, 9, 19): "State funeral",
        date(2026, 1, 5): "extra non-working day (added by user)",
    }
    with pytest.raises(InputError, match="'19/09/2022' is not a date"):
        parse_extra_days(["19/09/2022"])


@given(
    poll=st.dates(min_value=date(2010, 3, 1), max_value=date(2040, 12, 31)),
    n=st.integers(min_value=1, max_value=40),
    kind=st.sampled_from(ALL_KINDS),
)
def test_property_nth_working_day_before(poll, n, kind):
    cal = calendar(kind)
    result = working_days_before(poll, n, cal)
    assert result < poll
    assert cal.is_working_day(result)
    between = [result + timedelta(days=i) for i in range((poll - result).days)]
    assert sum(cal.is_working_day(d) for d in between) == n


def test_city_of_london_saturdays_are_working_days_sundays_are_not():
    # Act of Common Council of 9 April 1970 s1, as printed in the City of London Wardmote
    # Book (Part A s4 para 6): Sundays, the Christmas and Easter breaks, bank holidays and
    # days of thanksgiving or mourning are excluded; Saturdays are not.
    col = calendar(CalendarKind.COL)
    assert col.is_working_day(date(2026, 5, 2))  # Saturday
    assert col.reason(date(2026, 5, 3)) == "Sunday"
    assert col.reason(date(2026, 5, 4)) is not None  # Early May bank holiday
    assert not col.is_working_day(date(2025, 4, 19))  # Easter Saturday: inside the break
    assert (
        calendar(CalendarKind.COL, {date(2026, 5, 9): "day of mourning"}).reason(date(2026, 5, 9))
        == "day of mourning"
    )
    assert date(2026, 5, 9) not in col.non_working_days(2026)
    assert working_days_before(date(2025, 3, 20), 25, col) == date(2025, 2, 19)


def test_scotland_for_rpa_1983_counts_easter_monday_as_working():
    # RPA 1983 Sch 1 r2: bank holidays in that part of the UK; Easter Monday is not a
    # Scottish bank holiday, so a Scottish parliamentary by-election counts it.
    sct, plus = calendar(CalendarKind.SCT), calendar(CalendarKind.SCT_PLUS)
    assert sct.is_working_day(date(2026, 4, 6)) and not plus.is_working_day(date(2026, 4, 6))
    assert not sct.is_working_day(date(2026, 4, 3))  # Good Friday, in every calendar
    assert not sct.is_working_day(date(2026, 1, 2))  # 2 January, a Scottish bank holiday
