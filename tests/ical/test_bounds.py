"""The count of a rule's dates (purdah.ical.bounds) against dateutil, the expander's engine:
never fewer (or a hostile series could slip under its cap), and for the rules real
calendars use, the same."""

from __future__ import annotations

import random
import signal
from datetime import date, datetime

import pytest
from dateutil.rrule import rrulestr

from purdah.errors import RuleError, RuleRefused
from purdah.ical.bounds import count_between, parse_rule

FIRST, LAST = date(2026, 1, 1), date(2036, 12, 31)


def dateutil_count(text: str, start: date, seconds: float = 0.5) -> int | None:
    """dateutil's count in FIRST..LAST, or None where it walks on (a rule that never
    matches sends it to the year 9999)."""
    naive = datetime(start.year, start.month, start.day)  # noqa: DTZ001 (as dateutil wants)
    rule = rrulestr(text, dtstart=naive)

    class Late(Exception):
        pass

    def late(*_args: object) -> None:
        raise Late

    previous = signal.signal(signal.SIGALRM, late)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    found = 0
    try:
        for moment in rule:
            if moment.date() > LAST:
                break
            found += moment.date() >= FIRST
    except Late:
        return None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return found


@pytest.mark.parametrize(
    ("text", "start", "expected"),
    [
        ("FREQ=YEARLY", date(2027, 5, 6), 10),
        ("FREQ=YEARLY;BYMONTH=5;BYDAY=1TH", date(2027, 5, 6), 10),
        ("FREQ=YEARLY;INTERVAL=4;BYMONTH=5;BYDAY=1TH", date(2027, 5, 6), 3),
        ("FREQ=MONTHLY;BYDAY=-1FR", date(2026, 1, 30), 132),
        ("FREQ=WEEKLY;BYDAY=MO,TH;INTERVAL=2;UNTIL=20270701T180000", date(2027, 1, 11), 26),
        ("FREQ=DAILY;COUNT=10", date(2025, 12, 25), 3),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", date(2027, 1, 1), 0),
        ("FREQ=DAILY;BYSETPOS=2", date(2027, 1, 1), 0),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;INTERVAL=4", date(2027, 2, 1), 0),
    ],
)
def test_known_rules(text, start, expected):
    # The start itself is not counted (the reader adds it): dateutil gives it here only
    # where the rule does.
    assert count_between(parse_rule(text), start, FIRST, LAST) == expected
    theirs = dateutil_count(text, start)
    assert theirs in (expected, expected - 1, None)


def _random_rule(rng: random.Random) -> str:
    freq = rng.choice(["DAILY", "WEEKLY", "MONTHLY", "YEARLY"])
    parts = [f"FREQ={freq}"]
    if rng.random() < 0.4:
        parts.append(f"INTERVAL={rng.randint(1, 5)}")
    if rng.random() < 0.3:
        parts.append("BYMONTH=" + ",".join(str(rng.randint(1, 12)) for _ in range(2)))
    if rng.random() < 0.3:
        parts.append(f"BYMONTHDAY={rng.choice([1, -1]) * rng.randint(1, 31)}")
    if rng.random() < 0.4:
        nth = rng.choice(["", "1", "-1", "2", "5"]) if freq in ("MONTHLY", "YEARLY") else ""
        parts.append(f"BYDAY={nth}{rng.choice(['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'])}")
    if freq == "YEARLY" and rng.random() < 0.2:
        parts.append(f"BYWEEKNO={rng.choice([1, -1]) * rng.randint(1, 53)}")
    if freq == "YEARLY" and rng.random() < 0.2:
        parts.append(f"BYYEARDAY={rng.choice([1, -1]) * rng.randint(1, 366)}")
    if rng.random() < 0.2:
        parts.append(f"BYSETPOS={rng.choice([1, -1]) * rng.randint(1, 5)}")
    if rng.random() < 0.2:
        parts.append(f"WKST={rng.choice(['MO', 'SU', 'WE'])}")
    if rng.random() < 0.2:
        parts.append(f"UNTIL=2031{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}")
    elif rng.random() < 0.3:
        parts.append(f"COUNT={rng.randint(1, 400)}")
    return ";".join(parts)


def test_never_fewer_than_dateutil_on_random_rules():
    rng = random.Random(20261202)
    compared = 0
    for _ in range(60):
        text = _random_rule(rng)
        start = date(rng.randint(2020, 2029), rng.randint(1, 12), rng.randint(1, 28))
        mine = count_between(parse_rule(text), start, FIRST, LAST)
        theirs = dateutil_count(text, start, 0.3)
        if theirs is not None:
            compared += 1
            assert mine >= theirs, (text, start)
    assert compared > 30


@pytest.mark.parametrize(
    "text",
    [
        "FREQ=HOURLY",
        "FREQ=MINUTELY;INTERVAL=60",
        "FREQ=DAILY;BYHOUR=9,17",
        "FREQ=DAILY;BYHOUR=0,1,2;BYMINUTE=0,30",
    ],
)
def test_more_than_once_a_day_is_refused(text):
    with pytest.raises(RuleRefused):
        parse_rule(text)


@pytest.mark.parametrize(
    "text", ["FREQ=FORTNIGHTLY", "FREQ=DAILY;INTERVAL=0", "FREQ=DAILY;BYMONTH=13", "BYDAY=MO"]
)
def test_broken_rules_are_errors(text):
    with pytest.raises(RuleError):
        parse_rule(text)
