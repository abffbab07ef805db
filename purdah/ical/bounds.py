"""How many dates can a recurrence rule give? Worked out from the rule, before expanding it.

The expander (recurring-ical-events on dateutil) collects every occurrence in the window
in a list before yielding one, and a rule that never matches (30 February) makes it walk
year by year to 9999. So the reader asks this module first:

- a rule that can repeat more than once a day (FREQ=SECONDLY, MINUTELY, HOURLY, or
  BYHOUR/BYMINUTE/BYSECOND with more than one value) is refused outright;
- otherwise the dates the rule gives between two days are counted by walking those days
  once (a few thousand for the import window) against the rule's BY parts, INTERVAL and
  BYSETPOS, as RFC 5545 section 3.3.10 and dateutil define them. BYWEEKNO is matched
  loosely near the ends of a year, so the count never falls short of the expander's.

The count lets the reader refuse a series over its cap (FREQ=YEARLY;BYWEEKNO=1..53;
BYDAY=...;BYSETPOS=1..366 is a poll a day) and skip a rule that gives no date in the
window, without calling the expander. Pure: no I/O, no clock.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta

from purdah.errors import RuleError, RuleRefused

_SUB_DAILY = ("SECONDLY", "MINUTELY", "HOURLY")
_FREQS = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY", *_SUB_DAILY)
_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_NTH_DAY = re.compile(r"^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")


@dataclass(frozen=True)
class Rule:
    """The parts of one RRULE that decide which days it gives."""

    freq: str
    interval: int = 1
    count: int | None = None
    until: date | None = None
    by_month: frozenset[int] = frozenset()
    by_month_day: frozenset[int] = frozenset()
    by_year_day: frozenset[int] = frozenset()
    by_week_no: frozenset[int] = frozenset()
    by_day: frozenset[int] = frozenset()  # weekday numbers, any week
    by_nth_day: frozenset[tuple[int, int]] = frozenset()  # (n, weekday): 1MO, -1FR
    by_set_pos: frozenset[int] = frozenset()
    week_start: int = 0
    per_day: int = 1  # times a day: the product of BYHOUR, BYMINUTE and BYSECOND


def parse_rule(text: str) -> Rule:
    """Read `FREQ=...;...` (the value of an RRULE). RuleError if it cannot be read,
    RuleRefused if it repeats more often than daily."""
    parts: dict[str, list[str]] = {}
    for item in text.strip().split(";"):
        if not item.strip():
            continue
        name, sep, value = item.partition("=")
        if not sep:
            raise RuleError(f"{item!r} is not NAME=VALUE")
        parts[name.strip().upper()] = [v.strip().upper() for v in value.split(",") if v.strip()]
    freq = (parts.get("FREQ") or [""])[0]
    if freq not in _FREQS:
        raise RuleError(f"FREQ={freq or '(none)'} is not a recurrence frequency")
    if freq in _SUB_DAILY:
        raise RuleRefused(f"it repeats more often than daily (FREQ={freq}), which no election does")
    per_day = 1
    for name in ("BYHOUR", "BYMINUTE", "BYSECOND"):
        per_day *= max(1, len(set(parts.get(name, []))))
    if per_day > 1:
        raise RuleRefused(
            f"it repeats up to {per_day:,} times a day (BYHOUR, BYMINUTE or BYSECOND), "
            "which no election does"
        )
    interval = _one_int(parts, "INTERVAL", 1)
    if interval < 1:
        raise RuleError(f"INTERVAL={interval} is not a positive number")
    count = _one_int(parts, "COUNT", None) if "COUNT" in parts else None
    until = _until(parts.get("UNTIL"))
    days, nth = set(), set()
    for value in parts.get("BYDAY", []):
        match = _NTH_DAY.match(value)
        if not match:
            raise RuleError(f"BYDAY={value} is not a day such as MO or 1MO")
        weekday = _DAYS.index(match.group(2))
        if match.group(1) and freq in ("MONTHLY", "YEARLY"):
            nth.add((int(match.group(1)), weekday))
        else:  # dateutil ignores the number outside MONTHLY and YEARLY
            days.add(weekday)
    week_start = parts.get("WKST", ["MO"])[0]
    if week_start not in _DAYS:
        raise RuleError(f"WKST={week_start} is not a day")
    return Rule(
        freq=freq,
        interval=interval,
        count=count,
        until=until,
        by_month=_ints(parts, "BYMONTH", 1, 12),
        by_month_day=_ints(parts, "BYMONTHDAY", 1, 31, signed=True),
        by_year_day=_ints(parts, "BYYEARDAY", 1, 366, signed=True),
        by_week_no=_ints(parts, "BYWEEKNO", 1, 53, signed=True),
        by_day=frozenset(days),
        by_nth_day=frozenset(nth),
        by_set_pos=_ints(parts, "BYSETPOS", 1, 366, signed=True),
        week_start=_DAYS.index(week_start),
    )


def _one_int(parts: dict[str, list[str]], name: str, default: int | None) -> int:
    values = parts.get(name)
    if not values:
        if default is None:
            raise RuleError(f"{name} has no value")
        return default
    try:
        return int(values[0])
    except ValueError:
        raise RuleError(f"{name}={values[0]} is not a number") from None


def _ints(
    parts: dict[str, list[str]], name: str, low: int, high: int, *, signed: bool = False
) -> frozenset[int]:
    found = set()
    for value in parts.get(name, []):
        try:
            number = int(value)
        except ValueError:
            raise RuleError(f"{name}={value} is not a number") from None
        if not low <= abs(number) <= high or (number < 0 and not signed):
            raise RuleError(f"{name}={value} is out of range")
        found.add(number)
    return frozenset(found)


def _until(values: list[str] | None) -> date | None:
    if not values:
        return None
    text = values[0]
    try:
        return date(int(text[0:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        raise RuleError(f"UNTIL={text} is not a date") from None


def count_between(rule: Rule, start: date, first: date, last: date) -> int:
    """How many days between `first` and `last` (inclusive) the rule starting on `start`
    gives, within its COUNT, not counting the start itself (an occurrence
    whether or not the rule gives it). Never less than the expander finds; at most a
    little more (BYWEEKNO near the ends of a year)."""
    if rule.until is not None:
        # UNTIL may be a UTC instant and the start local: allow a day either way.
        last = min(last, rule.until + timedelta(days=1))
    first = max(first, start)
    if last < first:
        return 0
    rule = _with_defaults(rule, start)
    # With COUNT, walk from the start, so that a series used up before the window costs
    # only its own dates; without, from the window's first day.
    walk_from = start if rule.count is not None else first
    total = given = 0
    for period_first, period_last in _periods(rule, start, walk_from, last):
        days = [
            day for day in _days(period_first, period_last) if day >= start and _matches(rule, day)
        ]
        if rule.by_set_pos:
            days = _set_pos(days, rule.by_set_pos)
        if rule.count is not None:
            days = days[: max(0, rule.count - given)]
            given += len(days)
        total += sum(1 for day in days if first <= day <= last)
        if rule.count is not None and given >= rule.count:
            break
    return total


def _with_defaults(rule: Rule, start: date) -> Rule:
    """BY parts taken from the start where the rule names none (as dateutil does)."""
    if rule.by_week_no or rule.by_year_day or rule.by_month_day or rule.by_day:
        return rule
    if rule.by_nth_day:
        return rule
    if rule.freq == "YEARLY":
        months = rule.by_month or frozenset({start.month})
        return replace(rule, by_month=months, by_month_day=frozenset({start.day}))
    if rule.freq == "MONTHLY":
        return replace(rule, by_month_day=frozenset({start.day}))
    if rule.freq == "WEEKLY":
        return replace(rule, by_day=frozenset({start.weekday()}))
    return rule


def _periods(rule: Rule, start: date, first: date, last: date) -> Iterator[tuple[date, date]]:
    """The whole periods (day, week, month or year) that the rule's INTERVAL selects and
    that overlap first..last."""
    if rule.freq == "DAILY":
        offset = (first - start).days % rule.interval
        day = first + timedelta(days=(rule.interval - offset) % rule.interval)
        while day <= last:
            yield (day, day)
            day += timedelta(days=rule.interval)
    elif rule.freq == "WEEKLY":
        week = timedelta(days=7)
        origin = start - timedelta(days=(start.weekday() - rule.week_start) % 7)
        begin = first - timedelta(days=(first.weekday() - rule.week_start) % 7)
        offset = ((begin - origin).days // 7) % rule.interval
        begin += week * ((rule.interval - offset) % rule.interval)
        while begin <= last:
            yield (begin, begin + timedelta(days=6))
            begin += week * rule.interval
    elif rule.freq == "MONTHLY":
        month0 = start.year * 12 + start.month - 1
        index = first.year * 12 + first.month - 1
        index += (rule.interval - (index - month0) % rule.interval) % rule.interval
        while True:
            year, month = divmod(index, 12)
            begin = date(year, month + 1, 1)
            if begin > last:
                break
            yield (begin, date(year, month + 1, calendar.monthrange(year, month + 1)[1]))
            index += rule.interval
    else:  # YEARLY
        year = first.year + (rule.interval - (first.year - start.year) % rule.interval) % (
            rule.interval
        )
        while year <= last.year:
            yield (date(year, 1, 1), date(year, 12, 31))
            year += rule.interval


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _matches(rule: Rule, day: date) -> bool:
    if rule.by_month and day.month not in rule.by_month:
        return False
    if rule.by_month_day:
        length = calendar.monthrange(day.year, day.month)[1]
        if day.day not in rule.by_month_day and day.day - length - 1 not in rule.by_month_day:
            return False
    if rule.by_year_day:
        number = day.timetuple().tm_yday
        length = 366 if calendar.isleap(day.year) else 365
        if number not in rule.by_year_day and number - length - 1 not in rule.by_year_day:
            return False
    if rule.by_week_no and not _in_weeks(rule, day):
        return False
    days = rule.by_day or rule.by_nth_day
    return not days or day.weekday() in rule.by_day or _nth_matches(rule, day)


def _in_weeks(rule: Rule, day: date) -> bool:
    """Whether the day is in one of the BYWEEKNO weeks. Week 1 is the first week (from
    WKST) with at least four days of the year. Days within a week of either end of the
    year are let through: near there numbering conventions differ, and counting a day
    too many is safe where counting one too few is not."""
    if day.timetuple().tm_yday <= 7 or (date(day.year, 12, 31) - day).days < 7:
        return True
    jan1 = date(day.year, 1, 1)
    # The first day of week 1: the week-start on or before 4 January.
    jan4 = jan1 + timedelta(days=3)
    week1 = jan4 - timedelta(days=(jan4.weekday() - rule.week_start) % 7)
    number = (day - week1).days // 7 + 1
    next_jan4 = date(day.year + 1, 1, 4)
    weeks = (next_jan4 - timedelta(days=(next_jan4.weekday() - rule.week_start) % 7)) - week1
    total = weeks.days // 7
    return number in rule.by_week_no or number - total - 1 in rule.by_week_no


def _nth_matches(rule: Rule, day: date) -> bool:
    """1MO, -1FR ...: within the month for MONTHLY (and YEARLY with BYMONTH), else
    within the year."""
    if rule.freq == "MONTHLY" or rule.by_month:
        first_day = day.replace(day=1)
        length = calendar.monthrange(day.year, day.month)[1]
        last_day = day.replace(day=length)
    else:
        first_day, last_day = date(day.year, 1, 1), date(day.year, 12, 31)
    forward = (day - first_day).days // 7 + 1
    backward = -((last_day - day).days // 7 + 1)
    weekday = day.weekday()
    return (forward, weekday) in rule.by_nth_day or (backward, weekday) in rule.by_nth_day


def _set_pos(days: list[date], positions: frozenset[int]) -> list[date]:
    chosen = set()
    for position in positions:
        index = position - 1 if position > 0 else len(days) + position
        if 0 <= index < len(days):
            chosen.add(days[index])
    return sorted(chosen)
