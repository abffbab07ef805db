"""Which polls can exist: pure checks on a timetable, shared by `timetable`, `election add`
and import (each refuses such a poll with the reason and the law that says so).

No I/O, no clock: the checks are functions of the poll's id, its rule and its calendar.
"""

from __future__ import annotations

from datetime import date, timedelta

from purdah.calendars import NonWorkingDays
from purdah.errors import PollError
from purdah.timetable import Timetable

# The law that excludes a non-working day from the timetable and forbids any proceedings up
# to the completion of the poll on it, by rule family.
_DAY_RULES = {
    "local-eng": "SI 2006/3304 Sch 2 and 3 r2; SI 2006/3305 Sch 2 r2",
    "local-wls": "the computation-of-time rule (r2) of WSI 2021/1459 and 2021/1460 Sch 1, and "
    "of SI 2006/3304 before 2022",
    "local-sct": "SSI 2011/399 Sch 1 r2",
    "local-nir": "Electoral Law Act (Northern Ireland) 1962 Sch 5 r2",
    "local-col": "Act of Common Council of 9 April 1970 s1",
    "parl": "RPA 1983 Sch 1 r2",
    "parl-by": "RPA 1983 Sch 1 r2",
    "pcc": "the computation-of-time rule of SI 2012/1917 Sch 3",
    "mayor": "the computation-of-time rule of SI 2007/1024 and SI 2017/67",
    "gla": "the computation-of-time rule of SI 2007/3541",
    "senedd": "the computation-of-time rule of the Senedd election rules (SI 2007/236 Sch 5; "
    "WSI 2025/864 Sch 5 from 7 April 2026)",
    "sp": "the computation-of-time rule of SSI 2015/425 Sch 2",
    "nia": "RPA 1983 Sch 1 r2 as applied by SI 2001/2599",
    "ref": "the computation-of-time rule of the referendum's regulations (SI 2012/2031, "
    "SI 2012/444, SI 2012/323)",
}

# The Parliament elected on 4 July 2024 first met on 9 July 2024 (parliament.uk, "General
# election 2024"); it dissolves at the beginning of 9 July 2029 (DCPA 2022 s4) and the poll
# is the 25th working day after (RPA 1983 Sch 1 r1): 15 August 2029 (House of Commons Library).
_LAST_GENERAL_ELECTION = date(2024, 7, 4)
_PARLIAMENT_FIRST_MET = date(2024, 7, 9)

# Police areas whose elected mayor holds the police and crime commissioner's functions, and
# the first polling day with no PCC election there (the project's data README lists them).
PCC_BY_MAYOR: dict[str, tuple[date, str]] = {
    "greater-manchester": (
        date(2016, 5, 5),
        "the Mayor of Greater Manchester holds the PCC's functions (the interim mayor from May "
        "2015, the elected mayor from May 2017): there has been no PCC poll there since 2012",
    ),
    "west-yorkshire": (
        date(2021, 5, 6),
        "the Mayor of West Yorkshire has held the PCC's functions since 2021",
    ),
    "south-yorkshire": (
        date(2024, 5, 2),
        "the Mayor of South Yorkshire has held the PCC's functions since May 2024",
    ),
    "north-yorkshire": (
        date(2024, 5, 2),
        "the Mayor of York and North Yorkshire has held the PCC's functions since May 2024",
    ),
    "metropolitan": (
        date(2012, 1, 1),
        "in London the Mayor's Office for Policing and Crime holds the role (Police Reform "
        "and Social Responsibility Act 2011 s3)",
    ),
    "city-of-london": (
        date(2012, 1, 1),
        "the City of London Police's authority is the Common Council (Police Reform and "
        "Social Responsibility Act 2011 s1 does not apply there)",
    ),
}

_SENEDD_LISTS_FROM = date(2026, 4, 7)


def latest_general_election() -> date:
    """The last possible polling day for the Parliament that first met on 9 July 2024."""
    from purdah.calendars import CalendarKind, calendar

    anniversary = _PARLIAMENT_FIRST_MET.replace(year=_PARLIAMENT_FIRST_MET.year + 5)
    return working_days_after(anniversary, 25, calendar(CalendarKind.ANY_UK))


def working_days_after(day: date, n: int, cal: NonWorkingDays) -> date:
    """The n-th working day after `day` (`day` itself not counted)."""
    found, current = 0, day
    while found < n:
        current += timedelta(days=1)
        if cal.is_working_day(current):
            found += 1
    return current


def check_poll_can_exist(tt: Timetable) -> None:
    """Raise PollError, with the reason and its source, if `tt`'s poll cannot be held."""
    election, poll, family = tt.election, tt.poll_date, tt.rule.family
    if election.type == "nia" and election.by_election:
        raise PollError(
            f"{election.text}: there are no Northern Ireland Assembly by-elections; a vacant "
            "seat is filled by the nominating officer of the member's party or from the "
            "substitutes list (Northern Ireland Act 1998 s35; SI 2001/2599): no poll, no window"
        )
    if election.type in ("senedd", "naw") and election.by_election and poll >= _SENEDD_LISTS_FROM:
        raise PollError(
            f"{election.text}: from the 2026 Senedd there are no by-elections; a vacancy is "
            "filled from the party's closed list (Senedd Cymru (Members and Elections) Act 2024, "
            "Government of Wales Act 2006 s11 as substituted): no poll, no window"
        )
    if election.type == "pcc" and election.organisation in PCC_BY_MAYOR:
        first, why = PCC_BY_MAYOR[election.organisation]
        if poll >= first:
            raise PollError(
                f"{election.text}: there is no police and crime commissioner election in "
                f"{election.organisation}: {why} (Local Democracy, Economic Development and "
                "Construction Act 2009 s107F); the mayor's own "
                "election is the poll (mayor.* ids)"
            )
    if family == "parl" and poll > _LAST_GENERAL_ELECTION:
        last = latest_general_election()
        if poll > last:
            raise PollError(
                f"{election.text}: a general election cannot be held after {last:%a %d %b %Y}: "
                f"the Parliament that first met on {_PARLIAMENT_FIRST_MET:%-d %B %Y} dissolves "
                "automatically at the start of the fifth anniversary of that day, "
                f"{_PARLIAMENT_FIRST_MET.replace(year=_PARLIAMENT_FIRST_MET.year + 5):%-d %B %Y} "
                "(Dissolution and Calling of Parliament Act 2022 s4) and polling day is the "
                "25th working day after (RPA 1983 Sch 1 r1); if an earlier general election "
                "has been held since, purdah's table of Parliaments needs updating"
            )
    if tt.calendar is not None:
        reason = tt.calendar.reason(poll)
        if reason is not None:
            raise PollError(
                f"{election.text}: polling day {poll:%a %d %b %Y} is {_article(reason)}, a day "
                "the timetable disregards and on which no proceedings up to the completion of "
                f"the poll may be taken ({_DAY_RULES.get(family, tt.rule.sources[0])}): "
                "check the date"
            )


def _article(reason: str) -> str:
    if reason in ("Saturday", "Sunday"):
        return f"a {reason}"
    return reason
