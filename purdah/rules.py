"""The statute as data: one row per kind of election (RULES.md section 2).

Every day count is in WORKING days before polling day in the row's calendar,
except `publicity_days`, which counts calendar days. Each row names its legal
source; the README mirrors this table (a test keeps the two in step).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from purdah.calendars import CalendarKind
from purdah.errors import ElectionIdError, NationError
from purdah.ids import NATION_NAMES, ElectionId, Nation


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
    publicity_days: int | None = None
    sources: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


_EW_LOCAL = "E&W council election rules r2: the base list of non-working days"

RULES: tuple[Rule, ...] = (
    Rule(
        key="local-eng",
        title="English principal, parish and town councils",
        calendar=CalendarKind.EW,
        default_start=StartBasis.LATEST_NOTICE,
        latest_notice=25,
        sources=("SI 2006/3304 Sch 2 and 3 r1-2", "SI 2006/3305 Sch 2 r1-2"),
    ),
    Rule(
        key="local-wls",
        title="Welsh principal and community councils",
        calendar=CalendarKind.EW,
        default_start=StartBasis.LATEST_NOTICE,
        latest_notice=25,
        sources=("SI 2021/1459 Sch 1 r1-2", "SI 2021/1460 Sch 1 r1-2"),
    ),
    Rule(
        key="local-sct",
        title="Scottish councils (incl. by-elections)",
        calendar=CalendarKind.SCT_PLUS,
        default_start=StartBasis.EARLIEST_NOTICE,
        latest_notice=28,
        earliest_notice=35,
        sources=("SSI 2011/399 Sch 1 r1-2",),
        notes=("the Electoral Management Board usually directs the earliest date",),
    ),
    Rule(
        key="local-nir",
        title="Northern Ireland district councils",
        calendar=CalendarKind.NI,
        default_start=StartBasis.LATEST_NOTICE,
        latest_notice=25,
        sources=("Electoral Law Act (Northern Ireland) 1962 Sch 5",),
    ),
    Rule(
        key="local-col",
        title="City of London",
        calendar=CalendarKind.COL,
        default_start=StartBasis.LATEST_NOTICE,
        latest_notice=25,
        sources=("City of London elections rules (Easter and Christmas breaks)",),
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
            "Dissolution and Calling of Parliament Act 2022 (dissolution on the 25th day)",
        ),
    ),
    Rule(
        key="parl-by",
        title="UK parliamentary by-election",
        calendar=None,  # that nation's: see by_election_calendar()
        default_start=StartBasis.EARLIEST_NOTICE,
        latest_notice=20,
        earliest_notice=26,
        sources=("RPA 1983 Sch 1 r1", "Erskine May para 2.7"),
        notes=(
            "the writ sets the notice date (20th-26th working day); it cannot be derived "
            "from the poll date, so the window starts at the 26th unless the actual "
            "notice date is entered",
        ),
    ),
    Rule(
        key="pcc",
        title="Police and crime commissioner",
        calendar=CalendarKind.EW,
        default_start=StartBasis.LATEST_NOTICE,
        latest_notice=25,
        sources=("SI 2012/1917",),
    ),
    Rule(
        key="mayor",
        title="Combined authority and local authority mayors",
        calendar=CalendarKind.EW,
        default_start=StartBasis.LATEST_NOTICE,
        latest_notice=25,
        sources=("SI 2017/67", "SI 2007/1024"),
    ),
    Rule(
        key="gla",
        title="Greater London Authority (Assembly and Mayor of London)",
        calendar=CalendarKind.EW,
        default_start=StartBasis.LATEST_NOTICE,
        latest_notice=30,
        sources=("SI 2007/3541",),
    ),
    Rule(
        key="senedd",
        title="Senedd",
        calendar=CalendarKind.EW,
        default_start=StartBasis.LATEST_NOTICE,
        latest_notice=25,
        sources=("SI 2007/236",),
        notes=("dissolution comes later than the notice (about 21 days before the poll)",),
    ),
    Rule(
        key="sp",
        title="Scottish Parliament",
        calendar=CalendarKind.SCT_PLUS,
        default_start=StartBasis.EARLIEST_NOTICE,
        latest_notice=28,
        earliest_notice=35,
        sources=("SSI 2015/425 Sch 2 r1",),
    ),
    Rule(
        key="nia",
        title="Northern Ireland Assembly",
        calendar=CalendarKind.NI,
        default_start=StartBasis.LATEST_NOTICE,
        latest_notice=25,
        dissolution=25,
        sources=("SI 2009/256",),
    ),
    Rule(
        key="ref",
        title="Neighbourhood-planning and governance referendums (England)",
        calendar=None,
        default_start=StartBasis.PUBLICITY_BAN,
        publicity_days=28,
        sources=("SI 2012/2031 reg 5", "SI 2012/323 reg 5"),
        notes=(
            "the statutory publicity ban runs from 28 calendar days before the referendum; "
            "there is no notice of election",
        ),
    ),
)

RULES_BY_KEY = {rule.key: rule for rule in RULES}

# Police areas in Wales (Democracy Club organisation slugs); every other PCC area is English.
WELSH_POLICE_AREAS = frozenset({"dyfed-powys", "gwent", "north-wales", "south-wales"})

_BY_ELECTION_CALENDARS = {
    Nation.ENG: CalendarKind.EW,
    Nation.WLS: CalendarKind.EW,
    # Easter Monday is not a Scottish bank holiday; counting it as non-working puts the
    # start one day earlier at most, which is the conservative side.
    Nation.SCT: CalendarKind.SCT_PLUS,
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


def resolve(election: ElectionId, nation: Nation | None) -> Resolved:
    """Pick the rule row for `election`, checking `nation` against what the id fixes.

    Raises NationError where the nation is needed but missing, or contradicts the id;
    ElectionIdError for an election type the rules do not cover.
    """
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
        return _fixed(election, nation, "ref", (Nation.ENG,))
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
