"""The statute as data: one row per kind of election and version of the law (RULES.md s2).

Every day count is in WORKING days before polling day in the row's calendar,
except `publicity_days`, which counts calendar days. Each row names its legal
source, links it on legislation.gov.uk and says which polling days it applies to
(`applies_from` .. `applies_to`, both inclusive): a poll outside every version of
its kind is refused, never answered with a newer rule. The README mirrors this
table (a test keeps the two in step) and `purdah rules` lists it.

Where RULES.md was wrong or silent the law won, and the row says so:
- City of London: Saturdays are working days (Act of Common Council of 9 April 1970 s1).
- General elections and by-elections before 6 April 2014: the 17-working-day timetable
  (ERAA 2013 s14 took it to 25 from that day).
- Scottish parliamentary by-elections: RPA 1983 Sch 1 r2 excludes the bank holidays of
  that part of the UK, so Easter Monday counts there.
- Senedd polls after 6 April 2026: WSI 2025/864 Sch 5 (art 1(3)-(4) revoke SI 2007/236).
- NI Assembly: the conduct rules are SI 2001/2599 Sch 1 (SI 2009/256 only amended them).
- Referendums: one row per kind, each from the start of its own referendum period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from purdah.calendars import CalendarKind
from purdah.errors import ElectionIdError, NationError, PollError
from purdah.ids import NATION_NAMES, ElectionId, Nation

LEGISLATION = "https://www.legislation.gov.uk"


class StartBasis(StrEnum):
    """What the default window start is anchored to."""

    LATEST_NOTICE = "latest-notice"
    EARLIEST_NOTICE = "earliest-notice"
    DISSOLUTION = "dissolution"
    PUBLICITY_BAN = "publicity-ban"


@dataclass(frozen=True)
class Rule:
    key: str
    title: str
    calendar: CalendarKind | None
    default_start: StartBasis
    latest_notice: int | None = None
    earliest_notice: int | None = None
    dissolution: int | None = None
    publicity_days: int | None = None  # calendar days before the poll
    period_working_days: int | None = None  # a referendum period counted in working days
    sources: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    links: tuple[str, ...] = ()  # the instruments on legislation.gov.uk
    applies_from: date | None = None  # first polling day the row governs (None: no bound)
    applies_to: date | None = None  # last polling day the row governs (None: still in force)
    # False where the earliest bound is purdah's conservative default, not a statutory date.
    earliest_is_statutory: bool = True
    referendum: str | None = None  # the referendum kind (--referendum) a `ref` row is for

    @property
    def family(self) -> str:
        """The kind of election the row is a version of (`parl` for `parl-2014`)."""
        return _FAMILY.get(self.key, self.key)

    def applies(self, poll: date) -> bool:
        return (self.applies_from is None or poll >= self.applies_from) and (
            self.applies_to is None or poll <= self.applies_to
        )

    @property
    def period(self) -> str:
        """The polling days the row governs, in words."""
        if self.applies_from and self.applies_to:
            return f"polls {self.applies_from} to {self.applies_to}"
        if self.applies_from:
            return f"polls from {self.applies_from}"
        if self.applies_to:
            return f"polls up to {self.applies_to}"
        return "all polls"


def _uksi(year: int, number: int, part: str = "") -> str:
    return f"{LEGISLATION}/uksi/{year}/{number}{part}"


_RPA_SCH1 = f"{LEGISLATION}/ukpga/1983/2/schedule/1"
_ERAA_S14 = f"{LEGISLATION}/ukpga/2013/6/section/14"
_DCPA = f"{LEGISLATION}/ukpga/2022/11"
_FTPA = f"{LEGISLATION}/ukpga/2011/14"
# ERAA 2013 s14 (25-day parliamentary timetable) in force from this day (legislation.gov.uk
# point-in-time view of ERAA 2013 Part 2: "Valid from 06/04/2014").
_ERAA_IN_FORCE = date(2014, 4, 6)
_DCPA_IN_FORCE = date(2022, 3, 24)  # Dissolution and Calling of Parliament Act 2022 s6
_SENEDD_2025_FROM = date(2026, 4, 7)  # WSI 2025/864 art 1(4): polls after 6 April 2026

RULES: tuple[Rule, ...] = (
    Rule(
        key="local-eng",
        title="English principal, parish and town councils",
        calendar=CalendarKind.EW,
        default_start=StartBasis.LATEST_NOTICE,
        latest_notice=25,
        sources=("SI 2006/3304 Sch 2 and 3 r1-2", "SI 2006/3305 Sch 2 r1-2"),
        links=(_uksi(2006, 3304, "/schedule/2"), _uksi(2006, 3305, "/schedule/2")),
        # Both sets of rules revoked the 1986 rules on 2 January 2007 (SI 2006/3305 r1(4)).
        applies_from=date(2007, 1, 2),
    ),
    Rule(
        key="local-wls-2007",
        title="Welsh principal and community councils",
        calendar=CalendarKind.EW,
        default_start=StartBasis.LATEST_NOTICE,
        latest_notice=25,
        sources=("SI 2006/3304 Sch 2 and 3 r1-2", "SI 2006/3305 Sch 2 r1-2"),
        links=(_uksi(2006, 3304, "/schedule/2"), _uksi(2006, 3305, "/schedule/2")),
        applies_from=date(2007, 1, 2),
        applies_to=date(2021, 12, 31),
        notes=(
            "Welsh councils polled under the England and Wales rules until the Welsh "
            "rules of 2021 took over for the polls of 2022",
        ),
    ),
    Rule(
        key="local-wls",
        title="Welsh principal and community councils",
        calendar=CalendarKind.EW,
        default_start=StartBasis.LATEST_NOTICE,
        latest_notice=25,
        sources=("WSI 2021/1459 Sch 1 r1-2", "WSI 2021/1460 Sch 1 r1-2"),
        links=(f"{LEGISLATION}/wsi/2021/1459", f"{LEGISLATION}/wsi/2021/1460"),
        applies_from=date(2022, 1, 1),
    ),
    Rule(
        key="local-sct",
        title="Scottish councils (incl. by-elections)",
        calendar=CalendarKind.SCT_PLUS,
        default_start=StartBasis.EARLIEST_NOTICE,
        latest_notice=28,
        earliest_notice=35,
        sources=("SSI 2011/399 Sch 1 r1-2",),
        links=(f"{LEGISLATION}/ssi/2011/399/schedule/1",),
        applies_from=date(2012, 1, 1),
        notes=("the Electoral Management Board usually directs the earliest date",),
    ),
    Rule(
        key="local-nir",
        title="Northern Ireland district councils",
        calendar=CalendarKind.NI,
        default_start=StartBasis.LATEST_NOTICE,
        latest_notice=25,
        sources=("Electoral Law Act (Northern Ireland) 1962 Sch 5 r1",),
        links=(f"{LEGISLATION}/apni/1962/14/schedule/5",),
    ),
    Rule(
        key="local-col",
        title="City of London",
        calendar=CalendarKind.COL,
        default_start=StartBasis.LATEST_NOTICE,
        latest_notice=25,
        sources=(
            "Act of Common Council of 9 April 1970 s1 (days excluded from the timetable)",
            "City of London Wardmote Book, Part A s4 'Notice of Election to Notice of Poll' para 6",
        ),
        links=(
            "https://www.cityoflondon.gov.uk/about-us/voting-elections",
            f"{LEGISLATION}/ukla/2002/6",
        ),
        notes=(
            "Saturdays are working days in the City's count; Sundays, bank holidays, the "
            "Easter and Christmas breaks and days of thanksgiving or mourning are not",
            "Acts of Common Council are not on legislation.gov.uk: the City publishes them "
            "in the Wardmote Book; the City of London (Ward Elections) Act 2002 (linked) sets "
            "the franchise, not the timetable",
        ),
    ),
    Rule(
        key="parl-1983",
        title="UK general election",
        calendar=CalendarKind.ANY_UK,
        default_start=StartBasis.DISSOLUTION,
        latest_notice=14,
        dissolution=17,
        sources=(
            "RPA 1983 Sch 1 r1-2 before ERAA 2013 s14 (poll on the 17th working day after "
            "dissolution; notice by the 2nd day after the writ)",
            "Fixed-term Parliaments Act 2011 s3(1) as enacted (dissolution on the 17th "
            "working day), for dissolutions from 15 September 2011",
        ),
        links=(f"{_RPA_SCH1}/part/I/2010-04-12", f"{_FTPA}/section/3/enacted"),
        applies_to=date(2014, 4, 5),
        notes=(
            "the 2010 timetable: dissolution Mon 12 April, notices by Thu 15 April, "
            "poll Thu 6 May 2010",
        ),
    ),
    Rule(
        key="parl-2014",
        title="UK general election",
        calendar=CalendarKind.ANY_UK,
        default_start=StartBasis.DISSOLUTION,
        latest_notice=22,
        dissolution=25,
        sources=(
            "RPA 1983 Sch 1 r1-2",
            "Fixed-term Parliaments Act 2011 s3(1) as amended by ERAA 2013 s14(1) "
            "(dissolution at the beginning of the 25th working day before the poll)",
        ),
        links=(_RPA_SCH1, f"{_FTPA}/section/3", _ERAA_S14),
        applies_from=_ERAA_IN_FORCE,
        applies_to=date(2022, 3, 23),
        notes=(
            "the 2015, 2017 and 2019 general elections (FTPA 2011; the 2019 one under "
            "the Early Parliamentary General Election Act 2019)",
        ),
    ),
    Rule(
        key="parl",
        title="UK general election",
        calendar=CalendarKind.ANY_UK,
        default_start=StartBasis.DISSOLUTION,
        latest_notice=22,
        dissolution=25,
        sources=(
            "RPA 1983 Sch 1 r1-2",
            "Dissolution and Calling of Parliament Act 2022 s4 (automatic dissolution)",
        ),
        notes=(
            "polling day is the 25th working day after dissolution (RPA 1983 Sch 1 r1 as "
            "amended by the Dissolution and Calling of Parliament Act 2022 s5; Erskine May "
            "para 2.7); notices by 4pm on the 2nd day after the writ",
        ),
        links=(_RPA_SCH1, f"{_DCPA}/section/4"),
        applies_from=_DCPA_IN_FORCE,
    ),
    Rule(
        key="parl-by-1983",
        title="UK parliamentary by-election",
        calendar=None,  # that nation's: see by_election_calendar()
        default_start=StartBasis.EARLIEST_NOTICE,
        latest_notice=12,
        earliest_notice=18,
        earliest_is_statutory=False,
        sources=(
            "RPA 1983 Sch 1 r1 before ERAA 2013 s14(3) (poll 9th-11th working day after the "
            "close of nominations)",
        ),
        links=(f"{_RPA_SCH1}/part/I/2013-02-28", _ERAA_S14),
        applies_to=date(2014, 4, 5),
        notes=(
            "the writ sets the notice date: notice by the 2nd day after the writ, nominations "
            "3-7 days later, poll 9-11 days after nominations, so the notice falls on the "
            "12th-18th working day before the poll; purdah starts at the 18th unless the "
            "actual notice date is entered (conservative default, not a statutory date)",
        ),
    ),
    Rule(
        key="parl-by",
        title="UK parliamentary by-election",
        calendar=None,  # that nation's: see by_election_calendar()
        default_start=StartBasis.EARLIEST_NOTICE,
        latest_notice=20,
        earliest_notice=26,
        earliest_is_statutory=False,
        sources=("RPA 1983 Sch 1 r1 as amended by ERAA 2013 s14(3)", "Erskine May para 2.7"),
        links=(_RPA_SCH1, _ERAA_S14),
        applies_from=_ERAA_IN_FORCE,
        notes=(
            "the writ sets the notice date (20th-26th working day); it cannot be derived "
            "from the poll date, so the window starts at the 26th unless the actual notice "
            "date is entered: purdah's conservative default, not a statutory earliest date",
        ),
    ),
    Rule(
        key="pcc",
        title="Police and crime commissioner",
        calendar=CalendarKind.EW,
        default_start=StartBasis.LATEST_NOTICE,
        latest_notice=25,
        sources=("SI 2012/1917",),
        links=(_uksi(2012, 1917),),
        applies_from=date(2012, 11, 15),  # the first PCC elections
    ),
    Rule(
        key="mayor",
        title="Combined authority and local authority mayors",
        calendar=CalendarKind.EW,
        default_start=StartBasis.LATEST_NOTICE,
        latest_notice=25,
        sources=("SI 2017/67", "SI 2007/1024"),
        links=(_uksi(2017, 67), _uksi(2007, 1024)),
        applies_from=date(2007, 5, 1),
    ),
    Rule(
        key="gla",
        title="Greater London Authority (Assembly and Mayor of London)",
        calendar=CalendarKind.EW,
        default_start=StartBasis.LATEST_NOTICE,
        latest_notice=30,
        sources=("SI 2007/3541",),
        links=(_uksi(2007, 3541),),
        applies_from=date(2008, 1, 1),
    ),
    Rule(
        key="senedd",
        title="Senedd",
        calendar=CalendarKind.EW,
        default_start=StartBasis.LATEST_NOTICE,
        latest_notice=25,
        sources=("SI 2007/236 Sch 5 r1",),
        links=(_uksi(2007, 236, "/schedule/5"),),
        applies_from=date(2007, 3, 1),
        applies_to=date(2026, 4, 6),
        notes=("dissolution comes later than the notice (about 21 days before the poll)",),
    ),
    Rule(
        key="senedd-2026",
        title="Senedd",
        calendar=CalendarKind.EW,
        default_start=StartBasis.LATEST_NOTICE,
        latest_notice=25,
        sources=(
            "WSI 2025/864 Sch 5 r1 (Senedd Cymru (Representation of the People) Order 2025; "
            "art 1(3)-(4) revoke SI 2007/236 for polls after 6 April 2026)",
        ),
        links=(f"{LEGISLATION}/wsi/2025/864",),
        applies_from=_SENEDD_2025_FROM,
        notes=(
            "purdah counts the 25th working day, as under SI 2007/236: the Welsh Government "
            "describes the Order as largely restating the 2007 Order (draft Order consultation, "
            "gov.wales); the count was not confirmed against Sch 5 r1 itself, so enter the "
            "published notice date with --notice",
            "dissolution comes later than the notice (8 April for the poll of 7 May 2026)",
        ),
    ),
    Rule(
        key="sp",
        title="Scottish Parliament",
        calendar=CalendarKind.SCT_PLUS,
        default_start=StartBasis.EARLIEST_NOTICE,
        latest_notice=28,
        earliest_notice=35,
        sources=("SSI 2015/425 Sch 2 r1",),
        links=(f"{LEGISLATION}/ssi/2015/425/schedule/2",),
        applies_from=date(2015, 12, 16),  # Sch 2 para 1 in force 16.12.2015 (art 1(1))
    ),
    Rule(
        key="nia",
        title="Northern Ireland Assembly",
        calendar=CalendarKind.NI,
        default_start=StartBasis.LATEST_NOTICE,
        latest_notice=25,
        dissolution=25,
        sources=(
            "SI 2001/2599 Sch 1 (Northern Ireland Assembly (Elections) Order 2001: RPA 1983 "
            "Sch 1 r1 as applied), as amended by SI 2009/256",
            "Northern Ireland Act 1998 s31",
        ),
        links=(
            _uksi(2001, 2599, "/schedule/1"),
            _uksi(2009, 256),
            f"{LEGISLATION}/ukpga/1998/47/section/31",
        ),
        applies_from=date(2009, 3, 1),
    ),
    Rule(
        key="ref-np",
        title="Neighbourhood-planning referendum (England)",
        calendar=CalendarKind.EW,
        default_start=StartBasis.PUBLICITY_BAN,
        period_working_days=28,
        sources=("SI 2012/2031 reg 4(1A)(b) and reg 5",),
        links=(_uksi(2012, 2031, "/regulation/4"), _uksi(2012, 2031, "/regulation/5")),
        applies_from=date(2012, 8, 3),
        referendum="neighbourhood-planning",
        notes=(
            "the referendum period starts with the information statement, published not "
            "fewer than 28 working days before the poll (reg 4 disregards weekends and bank "
            "holidays); the notice of referendum comes later",
        ),
    ),
    Rule(
        key="ref-np-business",
        title="Neighbourhood-planning referendum with a business referendum (England)",
        calendar=CalendarKind.EW,
        default_start=StartBasis.PUBLICITY_BAN,
        period_working_days=56,
        sources=("SI 2012/2031 reg 4(1A)(a) and reg 17, as amended by SI 2013/798 reg 4",),
        links=(_uksi(2012, 2031, "/regulation/4"), _uksi(2013, 798, "/regulation/4")),
        applies_from=date(2013, 4, 6),
        referendum="business-neighbourhood-planning",
        notes=(
            "in a designated business area the information statement for both referendums "
            "comes not fewer than 56 working days before the poll",
        ),
    ),
    Rule(
        key="ref-council-tax",
        title="Council tax referendum (England)",
        calendar=CalendarKind.EW,
        default_start=StartBasis.PUBLICITY_BAN,
        period_working_days=28,
        sources=(
            "SI 2012/444 reg 4(2) (notice not fewer than 28 days before the poll; regs 5-6 "
            "the same for precepting authorities and the GLA)",
        ),
        links=(_uksi(2012, 444, "/regulation/4"),),
        applies_from=date(2012, 2, 18),
        referendum="council-tax",
        notes=(
            "purdah counts the 28 days as working days, the conservative reading (a "
            "calendar-day reading starts later); a notice published earlier is the start: "
            "enter it with --notice",
        ),
    ),
    Rule(
        key="ref-governance",
        title="Local authority governance referendum (England)",
        calendar=CalendarKind.EW,
        default_start=StartBasis.PUBLICITY_BAN,
        period_working_days=28,
        sources=("SI 2012/323 reg 4 and reg 5 (restriction from 28 days before the poll)",),
        links=(_uksi(2012, 323, "/regulation/4"), _uksi(2012, 323, "/regulation/5")),
        applies_from=date(2012, 2, 9),
        referendum="governance",
        notes=(
            "purdah counts the 28 days as working days, the conservative reading (a "
            "calendar-day reading starts later); a notice under reg 4 published earlier is "
            "the start: enter it with --notice",
        ),
    ),
)

_FAMILY = {
    "local-wls-2007": "local-wls",
    "parl-1983": "parl",
    "parl-2014": "parl",
    "parl-by-1983": "parl-by",
    "senedd-2026": "senedd",
    "ref-np": "ref",
    "ref-np-business": "ref",
    "ref-council-tax": "ref",
    "ref-governance": "ref",
}

REFERENDUM_KINDS: dict[str, Rule] = {r.referendum: r for r in RULES if r.referendum}

RULES_BY_KEY = {rule.key: rule for rule in RULES}

# Police areas in Wales (Democracy Club organisation slugs); every other PCC area is English.
WELSH_POLICE_AREAS = frozenset({"dyfed-powys", "gwent", "north-wales", "south-wales"})

_BY_ELECTION_CALENDARS = {
    Nation.ENG: CalendarKind.EW,
    Nation.WLS: CalendarKind.EW,
    # RPA 1983 Sch 1 r2 excludes the bank holidays of that part of the UK, and Easter Monday
    # is not one in Scotland: it counts as a working day (the Easter Monday rule belongs to
    # the Scottish Parliament and Scottish council timetables, not to RPA 1983).
    Nation.SCT: CalendarKind.SCT,
    Nation.NIR: CalendarKind.NI,
}

_LOCAL_RULES = {
    Nation.ENG: "local-eng",
    Nation.WLS: "local-wls",
    Nation.SCT: "local-sct",
    Nation.NIR: "local-nir",
}

_HOME_NATIONS = (Nation.ENG, Nation.WLS, Nation.SCT, Nation.NIR)


@dataclass(frozen=True)
class Resolved:
    """The rule that governs an election, for a definite nation, and the calendar to count in."""

    rule: Rule
    nation: Nation
    calendar: CalendarKind | None
    warnings: tuple[str, ...] = ()


def versions(family: str) -> tuple[Rule, ...]:
    """Every row of `family` (e.g. `parl`), oldest first."""
    return tuple(r for r in RULES if r.family == family)


def in_force(family: str, election: ElectionId) -> Rule:
    """The version of `family` that governs `election`'s polling day, or PollError saying
    which versions purdah knows and that it will not answer with one that was not in force."""
    poll = election.poll_date
    for rule in versions(family):
        if rule.applies(poll):
            return rule
    known = "; ".join(f"{r.key}: {r.period}" for r in versions(family))
    raise PollError(
        f"{election.text}: purdah has no {versions(family)[0].title} rule in force on "
        f"{poll} (it knows {known}); it will not answer an older poll with a newer rule: "
        "check the timetable of the law then in force"
    )


def resolve(election: ElectionId, nation: Nation | None, referendum: str | None = None) -> Resolved:
    """Pick the rule row for `election`, checking `nation` against what the id fixes, and the
    version of that rule in force on its polling day.

    Raises NationError where the nation is needed but missing, or contradicts the id;
    ElectionIdError for an election type the rules do not cover; PollError where no version
    was in force on the polling day, or for an unknown referendum kind.
    """
    if referendum is not None and election.type != "ref":
        raise ElectionIdError(
            f"--referendum {referendum} is for referendums (ref.* ids), not {election.text}"
        )
    found = _resolve_family(election, nation)
    if election.type == "ref":
        kind_rule, assumed = _referendum(election, referendum)
        return Resolved(kind_rule, found.nation, kind_rule.calendar, assumed)
    rule = in_force(found.rule.family, election)
    calendar = found.calendar if found.rule.calendar is None else rule.calendar
    warnings: tuple[str, ...] = ()
    if election.type == "sp" and election.by_election:
        warnings = (
            f"{election.text}: purdah counts a Scottish Parliament constituency by-election "
            "like a general election (notice between the 35th and 28th working day); the "
            "returning officer may fix a later timetable for a vacancy, which purdah has not "
            "checked: the 35th-day start is the conservative side, and the published notice "
            "date should be entered with --notice",
        )
    return Resolved(rule, found.nation, calendar, warnings)


def _referendum(election: ElectionId, kind: str | None) -> tuple[Rule, tuple[str, ...]]:
    if kind is not None:
        rule = REFERENDUM_KINDS.get(kind)
        if rule is None:
            raise PollError(
                f"referendum kind {kind!r} is not one purdah can place: use one of "
                f"{', '.join(REFERENDUM_KINDS)} (each has its own instrument and period)"
            )
        if not rule.applies(election.poll_date):
            raise PollError(
                f"{election.text}: the {rule.title} rule ({'; '.join(rule.sources)}) applies "
                f"to {rule.period}, not {election.poll_date}"
            )
        return rule, ()
    candidates = [r for r in REFERENDUM_KINDS.values() if r.applies(election.poll_date)]
    if not candidates:
        raise PollError(f"{election.text}: purdah knows no referendum rule in force on that day")
    rule = max(candidates, key=lambda r: r.period_working_days or 0)
    return rule, (
        f"{election.text} does not say which kind of referendum it is: purdah used the kind "
        f"whose period starts earliest, {rule.referendum} ({'; '.join(rule.sources)}); give "
        f"--referendum {'|'.join(REFERENDUM_KINDS)} (for a recorded poll: purdah election "
        f"set-referendum {election.text} KIND) for the right one",
    )


def _resolve_family(election: ElectionId, nation: Nation | None) -> Resolved:
    """The current row of the election's kind, its nation and calendar (before dating)."""
    kind = election.type
    if kind == "local":
        if election.organisation == "city-of-london":
            return _fixed(election, nation, "local-col", (Nation.ENG,))
        chosen = _required(election, nation, _HOME_NATIONS, "a local election")
        rule = RULES_BY_KEY[_LOCAL_RULES[chosen]]
        return Resolved(rule, chosen, rule.calendar)
    if kind == "parl":
        if election.by_election:
            chosen = _required(election, nation, _HOME_NATIONS, "a UK parliamentary by-election")
            return Resolved(RULES_BY_KEY["parl-by"], chosen, _BY_ELECTION_CALENDARS[chosen])
        # A general election covers every nation: any --nation given is consistent with it.
        rule = RULES_BY_KEY["parl"]
        return Resolved(rule, Nation.UK, rule.calendar)
    if kind == "mayor" and election.organisation == "london":
        return _fixed(election, nation, "gla", (Nation.ENG,))
    if kind == "gla":
        return _fixed(election, nation, "gla", (Nation.ENG,))
    if kind == "pcc":
        default = Nation.WLS if election.organisation in WELSH_POLICE_AREAS else Nation.ENG
        return _fixed(election, nation, "pcc", (default, Nation.ENG, Nation.WLS))
    if kind == "mayor":
        return _fixed(election, nation, "mayor", (Nation.ENG, Nation.WLS))
    if kind in ("senedd", "naw"):
        return _fixed(election, nation, "senedd", (Nation.WLS,))
    if kind == "sp":
        return _fixed(election, nation, "sp", (Nation.SCT,))
    if kind == "nia":
        return _fixed(election, nation, "nia", (Nation.NIR,))
    if kind == "ref":
        return _fixed(election, nation, "ref-np", (Nation.ENG,))
    raise ElectionIdError(
        f"election type {kind!r} ({election.text}) is not covered by purdah's rules "
        "(RULES.md section 2): there is no statutory timetable to answer from"
    )


def _fixed(
    election: ElectionId, nation: Nation | None, key: str, allowed: tuple[Nation, ...]
) -> Resolved:
    """A rule whose nation the id fixes: the first of `allowed` unless `nation` picks another."""
    rule = RULES_BY_KEY[key]
    if nation is None:
        chosen = allowed[0]
    elif nation in allowed:
        chosen = nation
    else:
        names = " or ".join(dict.fromkeys(n.value for n in allowed))
        raise NationError(
            f"{election.text} is a {rule.title} election, held in "
            f"{' and '.join(dict.fromkeys(NATION_NAMES[n] for n in allowed))}: "
            f"--nation {nation.value} contradicts it (omit --nation or use {names})"
        )
    return Resolved(rule, chosen, rule.calendar)


def _required(
    election: ElectionId, nation: Nation | None, allowed: tuple[Nation, ...], what: str
) -> Nation:
    if nation is None or nation not in allowed:
        choices = "|".join(n.value for n in allowed)
        given = "" if nation is None else f" (not {nation.value})"
        raise NationError(
            f"{election.text} is {what}: its id does not say which nation it is in, and the "
            f"rules differ by nation; give --nation {choices}{given}"
        )
    return nation
