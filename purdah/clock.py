"""Time zone and the few helpers that turn dates into instants. The clock is never read here."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")

CLOSE_OF_POLL = time(22, 0)


def london_instant(day: date, at: time = time(0, 0)) -> datetime:
    """The aware Europe/London instant at local time `at` on `day`."""
    return datetime.combine(day, at, tzinfo=LONDON)


def start_of_day(day: date) -> datetime:
    return london_instant(day)


def end_of_day(day: date) -> datetime:
    """24:00 on `day`, i.e. midnight at the start of the next day, Europe/London."""
    return london_instant(day + timedelta(days=1))


def parse_when(text: str, what: str = "time") -> datetime:
    """An ISO 8601 date or datetime as an aware instant; without an offset it is Europe/London.

    A bare date means 00:00 Europe/London on that day.
    """
    from purdah.errors import InputError

    value = text.strip()
    try:
        if len(value) == 10:
            return start_of_day(date.fromisoformat(value))
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(
            f"{what} {text!r} is not an ISO 8601 date or datetime: write e.g. 2026-05-07 or "
            "2026-05-07T21:59:59 (Europe/London unless an offset such as +01:00 is given)"
        ) from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=LONDON)
    return parsed


def parse_date(text: str, what: str = "date") -> date:
    from purdah.errors import InputError

    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{what} {text!r} is not a date: write YYYY-MM-DD") from None
