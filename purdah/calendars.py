"""Non-working-day calendars and working-day arithmetic (RULES.md section 3).

Pure: dates in, dates out. Bank holidays come from the rule-based `holidays`
package (UK subdivisions), so any year it covers works; a year it does not
cover raises CalendarCoverageError instead of silently counting it as having
no holidays (which is what the package itself does past its last year).

Base rule for every calendar (E&W council election rules, and the same words
in the other nations' rules): Saturdays, Sundays, Christmas Eve, Christmas Day,
Good Friday, bank holidays, and days appointed for public thanksgiving or
mourning. Days of thanksgiving or mourning that the holiday data does not know
are added by the user as `extra` days.

The City of London is the exception: its ward and aldermanic timetables count
Saturdays. Section 1 of the Act of Common Council of 9 April 1970 (printed in the
City's Wardmote Book, Part A s4 para 6) excludes only Sundays, the Christmas break,
the Easter break, bank holidays and days of public thanksgiving or mourning.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType

from dateutil.easter import easter

from purdah.errors import CalendarCoverageError, InputError


class CalendarKind(StrEnum):
    """The non-working-day calendars the statutes use (RULES.md section 3 table)."""

    EW = "E&W"
    SCT = "SCT"
    SCT_PLUS = "SCT+"
    NI = "NI"
    ANY_UK = "any-UK"
    COL = "CoL"


CALENDAR_DESCRIPTIONS: Mapping[CalendarKind, str] = MappingProxyType(
    {
        CalendarKind.EW: "England and Wales bank holidays, incl. substitutes and one-off days",
        CalendarKind.SCT: "Scottish bank holidays only (RPA 1983 Sch 1 r2: bank holidays in that "
        "part of the UK); Easter Monday counts as a working day",
        CalendarKind.SCT_PLUS: "Scottish bank holidays plus Easter Monday (Electoral Commission "
        "timetables)",
        CalendarKind.NI: "Northern Ireland bank holidays",
        CalendarKind.ANY_UK: "a bank holiday in any part of the UK (RPA 1983 Sch 1 r2)",
        CalendarKind.COL: "Saturdays COUNT as working days; Sundays, England and Wales bank "
        "holidays, the City of London's Easter break (Thursday before to Tuesday after Easter "
        "Day) and Christmas break do not (Act of Common Council of 9 April 1970 s1)",
    }
)

# Which `holidays` subdivisions make up each calendar's bank holidays.
_SUBDIVISIONS: Mapping[CalendarKind, tuple[str, ...]] = MappingProxyType(
    {
        CalendarKind.EW: ("ENG", "WLS"),
        CalendarKind.SCT: ("SCT",),
        CalendarKind.SCT_PLUS: ("SCT",),
        CalendarKind.NI: ("NIR",),
        CalendarKind.ANY_UK: ("ENG", "WLS", "SCT", "NIR"),
        CalendarKind.COL: ("ENG", "WLS"),
    }
)

_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def holiday_data_years() -> tuple[int, int]:
    """First and last year the holiday data covers (inclusive)."""
    from holidays.countries.united_kingdom import UnitedKingdom

    return int(UnitedKingdom.start_year), int(UnitedKingdom.end_year)


def holiday_data_version() -> str:
    from holidays.version import __version__

    return f"holidays {__version__}"


@lru_cache(maxsize=512)
def _bank_holidays(subdivisions: tuple[str, ...], year: int) -> Mapping[date, str]:
    """Bank holidays of `year` in the union of `subdivisions`, name by date."""
    first, last = holiday_data_years()
    if not first <= year <= last:
        raise CalendarCoverageError(
            f"the holiday data ({holiday_data_version()}) covers {first}-{last}, "
            f"not {year}: purdah will not count working days in a year it has no "
            "bank holidays for"
        )
    from holidays.utils import country_holidays

    found: dict[date, str] = {}
    for subdivision in subdivisions:
        for day, name in country_holidays("GB", subdiv=subdivision, years=year).items():
            found.setdefault(day, name)
    return MappingProxyType(found)


def _easter_break(year: int) -> dict[date, str]:
    """The City's Easter break: the Thursday before Easter Day to the Tuesday after."""
    sunday = easter(year)
    return {sunday + timedelta(days=d): "City of London Easter break" for d in range(-3, 3)}


def _christmas_break(year: int, bank_holidays: Mapping[date, str]) -> dict[date, str]:
    """The City's Christmas break: from the last weekday before Christmas Day to the first
    weekday after it that is not a bank holiday, both included."""
    first = date(year, 12, 24)
    while first.weekday() >= 5:
        first -= timedelta(days=1)
    last = date(year, 12, 26)
    while last.weekday() >= 5 or last in bank_holidays:
        last += timedelta(days=1)
    days: dict[date, str] = {}
    day = first
    while day <= last:
        days[day] = "City of London Christmas break"
        day += timedelta(days=1)
    return days


@dataclass(frozen=True)
class NonWorkingDays:
    """A non-working-day calendar: one of the statutory kinds plus days a user added.

    `extra` holds days appointed for public thanksgiving or mourning (or any other
    day a clerk must not count), each with its reason.
    """

    kind: CalendarKind
    extra: Mapping[date, str] = field(default_factory=lambda: MappingProxyType({}))

    def __hash__(self) -> int:
        return hash((self.kind, tuple(sorted(self.extra.items()))))

    def reason(self, day: date) -> str | None:
        """Why `day` is not a working day, or None when it is one."""
        if day.weekday() == 6 or (day.weekday() == 5 and self.kind is not CalendarKind.COL):
            return _WEEKDAY_NAMES[day.weekday()]
        if day in self.extra:
            return self.extra[day]
        return self._statutory(day.year).get(day)

    def is_working_day(self, day: date) -> bool:
        return self.reason(day) is None

    def non_working_days(self, year: int) -> Mapping[date, str]:
        """Every statutory and extra non-working day of `year` that is not already a
        non-working day of the week (Saturday and Sunday; only Sunday in the City), with
        its reason."""
        days = dict(self._statutory(year))
        days.update({d: r for d, r in self.extra.items() if d.year == year})
        weekly = (6,) if self.kind is CalendarKind.COL else (5, 6)
        return {d: r for d, r in sorted(days.items()) if d.weekday() not in weekly}

    def _statutory(self, year: int) -> Mapping[date, str]:
        return _statutory_days(self.kind, year)


@lru_cache(maxsize=512)
def _statutory_days(kind: CalendarKind, year: int) -> Mapping[date, str]:
    bank = _bank_holidays(_SUBDIVISIONS[kind], year)
    days: dict[date, str] = dict(bank)
    sunday = easter(year)
    # Named in the base rule whether or not they are bank holidays where the poll is.
    days.setdefault(date(year, 12, 24), "Christmas Eve")
    days.setdefault(date(year, 12, 25), "Christmas Day")
    days.setdefault(sunday - timedelta(days=2), "Good Friday")
    if kind is CalendarKind.SCT_PLUS:
        # Not a Scottish bank holiday, but Electoral Commission timetables skip it.
        days.setdefault(sunday + timedelta(days=1), "Easter Monday")
    if kind is CalendarKind.COL:
        for day, name in (_easter_break(year) | _christmas_break(year, bank)).items():
            days.setdefault(day, name)
    return MappingProxyType(days)


def calendar(kind: CalendarKind, extra: Mapping[date, str] | None = None) -> NonWorkingDays:
    """The calendar of `kind`, with any extra non-working days a user added."""
    return NonWorkingDays(kind, MappingProxyType(dict(extra or {})))


def working_days_before(day: date, n: int, cal: NonWorkingDays) -> date:
    """The n-th working day before `day`.

    `day` itself is never counted: day 1 is the last working day before it
    (RULES.md section 2). Raises CalendarCoverageError if the count runs into a
    year the holiday data does not cover.
    """
    if n < 1:
        raise InputError(f"a working-day count must be 1 or more, not {n}")
    found = 0
    current = day
    while found < n:
        current -= timedelta(days=1)
        if cal.is_working_day(current):
            found += 1
    return current


def parse_extra_days(values: Iterable[str]) -> dict[date, str]:
    """Parse user-given extra non-working days, `YYYY-MM-DD` or `YYYY-MM-DD=reason`."""
    days: dict[date, str] = {}
    for value in values:
        text, _, reason = value.partition("=")
        try:
            day = date.fromisoformat(text.strip())
        except ValueError:
            raise InputError(
                f"extra non-working day {value!r} is not a date: write YYYY-MM-DD or "
                "YYYY-MM-DD=reason, e.g. 2022-09-19=State funeral"
            ) from None
        days[day] = reason.strip() or "extra non-working day (added by user)"
    return days
