"""The statutory timetable of one election and the pre-election window it makes.

Pure: no I/O, no clock. `compute_timetable` gives the statutory dates; `window`
turns them into a half-open [start, end) of aware Europe/London instants under a
council's policy and whatever the clerk knows (the actual notice date, a
declaration time).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from purdah.calendars import CalendarKind, NonWorkingDays, calendar, working_days_before
from purdah.choices import EndPolicy as EndPolicy
from purdah.choices import StartPolicy as StartPolicy
from purdah.clock import CLOSE_OF_POLL, LONDON, end_of_day, london_instant, start_of_day
from purdah.errors import InputError
from purdah.ids import ElectionId, Nation
from purdah.rules import Rule, StartBasis, resolve


@dataclass(frozen=True)
class Timetable:
    """Statutory dates of one election. Day counts are working days in `calendar`."""

    election: ElectionId
    nation: Nation
    rule: Rule
    calendar: NonWorkingDays | None
    notice_earliest: date | None
    notice_latest: date | None
    dissolution: date | None
    publicity_start: date | None
    warnings: tuple[str, ...] = ()  # said with every answer (e.g. the referendum kind assumed)

    @property
    def poll_date(self) -> date:
        return self.election.poll_date

    @property
    def calendar_kind(self) -> CalendarKind | None:
        return self.calendar.kind if self.calendar else None

    def statutory_date(self, basis: StartBasis) -> date | None:
        return {
            StartBasis.LATEST_NOTICE: self.notice_latest,
            StartBasis.EARLIEST_NOTICE: self.notice_earliest,
            StartBasis.DISSOLUTION: self.dissolution,
            StartBasis.PUBLICITY_BAN: self.publicity_start,
        }[basis]

    @property
    def default_start(self) -> date:
        day = self.statutory_date(self.rule.default_start)
        assert day is not None, f"rule {self.rule.key} has no date for its own default start"
        return day

    @property
    def mandatory_start(self) -> date | None:
        """A start that no notice date can postpone: dissolution, or a statutory publicity ban."""
        days = [d for d in (self.dissolution, self.publicity_start) if d is not None]
        return min(days) if days else None


def compute_timetable(
    election: ElectionId,
    nation: Nation | None = None,
    extra_non_working: Mapping[date, str] | None = None,
    referendum: str | None = None,
) -> Timetable:
    """The statutory dates for `election` under the version of its rule in force on its
    polling day (RULES.md section 2; purdah.rules says where the law corrects it).

    `nation` is needed where the id does not fix it; `extra_non_working` adds days
    a clerk must not count (days of mourning), which moves every affected date;
    `referendum` names the kind of a `ref` poll (without it: the earliest-starting kind,
    with a warning).
    """
    resolved = resolve(election, nation, referendum)
    rule = resolved.rule
    cal = calendar(resolved.calendar, extra_non_working) if resolved.calendar else None
    poll = election.poll_date

    def counted(days: int | None) -> date | None:
        if days is None:
            return None
        assert cal is not None, f"rule {rule.key} counts working days without a calendar"
        return working_days_before(poll, days, cal)

    return Timetable(
        election=election,
        nation=resolved.nation,
        rule=rule,
        calendar=cal,
        notice_earliest=counted(rule.earliest_notice),
        notice_latest=counted(rule.latest_notice),
        dissolution=counted(rule.dissolution),
        publicity_start=(
            poll - timedelta(days=rule.publicity_days)
            if rule.publicity_days
            else counted(rule.period_working_days)
        ),
        warnings=resolved.warnings,
    )


# How many working days before the statutory last day for the notice of election the
# run-up policy restricts, until the notice date (actual or planned) is recorded. Chosen
# from the published cases (the actual_notice rows of tests/data/published_dates.csv, 44
# polls 2012-2025, each with its URL and quote): the working days between the published
# notice and the statutory last day run from 0 to 10, median 2. Among them: Essex PFCC
# (Uttlesford) Fri 22 Mar 2024, last day Tue 26 Mar: 2; West Midlands CA Thu 21 Mar 2024:
# 3; Cardiff Fri 18 Mar 2022, last day Mon 28 Mar: 6; West Berkshire Fri 15 Mar 2019,
# last day Tue 26 Mar: 7; the widest, Central Bedfordshire (Barton-le-Clay parish) dated
# Mon 13 Mar 2023, last day Mon 27 Mar: 10. Fifteen (three working weeks) covers the widest
# with a working week to spare, because a tool that is silently wrong is worse than one
# that restricts a week early, and recording the date (actual or planned) ends the run-up.
# For a general election the run-up is counted back from dissolution: fifteen working days
# before it come before the 2017 announcement (Tue 18 Apr 2017, dissolution Wed 3 May), the
# 2019 Commons vote (Tue 29 Oct 2019, dissolution Wed 6 Nov) and the 2024 announcement
# (Wed 22 May 2024, dissolution Thu 30 May).
RUN_UP_WORKING_DAYS = 15


# What each policy does, for `council add --help`, the README and `purdah rules`.
START_POLICY_TEXT: Mapping[StartPolicy, str] = {
    StartPolicy.RUN_UP: (
        f"restrict from {RUN_UP_WORKING_DAYS} working days before the statutory last day for "
        "the notice of election (for a UK general election: before dissolution, or from the "
        "announcement once it is recorded) until the actual or planned notice date is "
        "recorded, then from that date"
    ),
    StartPolicy.STATUTORY: (
        "the notice date if it is recorded, else the rule's default start (the last day for "
        "the notice; the earliest day in Scotland; dissolution for a general election)"
    ),
    StartPolicy.LATEST_NOTICE: (
        "the notice date if it is recorded, else the statutory last day for the notice"
    ),
    StartPolicy.EARLIEST_NOTICE: (
        "the notice date if it is recorded, else the statutory earliest day for the notice "
        "(where the law sets one: Scotland, parliamentary by-elections)"
    ),
    StartPolicy.DISSOLUTION: (
        "the notice date if it is recorded, else dissolution (where there is one)"
    ),
}


@dataclass(frozen=True)
class WindowPolicy:
    start: StartPolicy = StartPolicy.STATUTORY
    end: EndPolicy = EndPolicy.CLOSE_OF_POLL


_BASIS_WORDS = {
    StartBasis.LATEST_NOTICE: "statutory latest notice of election",
    StartBasis.EARLIEST_NOTICE: "statutory earliest notice of election",
    StartBasis.DISSOLUTION: "dissolution",
    StartBasis.PUBLICITY_BAN: "start of the statutory referendum period",
}
# A by-election's earliest bound is purdah's choice, not the law's (the writ sets the date).
_DEFAULT_EARLIEST_WORDS = "earliest notice the writ allows (purdah's conservative default)"


def basis_words(tt: Timetable, basis: StartBasis) -> str:
    """How an answer names `basis` for this timetable's rule."""
    if basis is StartBasis.EARLIEST_NOTICE and not tt.rule.earliest_is_statutory:
        return _DEFAULT_EARLIEST_WORDS
    return _BASIS_WORDS[basis]


_POLICY_BASIS = {
    StartPolicy.LATEST_NOTICE: StartBasis.LATEST_NOTICE,
    StartPolicy.EARLIEST_NOTICE: StartBasis.EARLIEST_NOTICE,
    StartPolicy.DISSOLUTION: StartBasis.DISSOLUTION,
}


@dataclass(frozen=True)
class Window:
    """A half-open pre-election window [start, end) of aware Europe/London instants.

    `run_up_start` is set when the run-up (the days before the notice in which it may be
    published any day) begins before `start`: the council's policy does not restrict
    then, and answers in [run_up_start, start) carry `run_up_note` as a warning.
    """

    start: datetime
    end: datetime
    start_basis: str  # "actual notice of election", or one of _BASIS_WORDS' values
    end_basis: str
    actual_notice: bool
    notes: tuple[str, ...] = ()
    run_up_start: datetime | None = None
    last_day: date | None = None  # the statutory last day for the notice of election
    run_up_note: str = ""

    def contains(self, instant: datetime) -> bool:
        return self.start <= instant < self.end


def long_day(day: date) -> str:
    """A date as answers write it: Fri 22 Mar 2024."""
    return f"{day:%a} {day.day} {day:%b %Y}"


def is_general_election(tt: Timetable) -> bool:
    return tt.rule.key == "parl"


def run_up_day(tt: Timetable) -> date | None:
    """The first day of the run-up: RUN_UP_WORKING_DAYS working days before the first
    statutory event that can start the period (the last day for the notice, or dissolution
    where that comes first), never before the statutory earliest day for the notice.
    None for an election without a notice of election (referendums)."""
    if tt.notice_latest is None or tt.calendar is None:
        return None
    anchor = min(d for d in (tt.notice_latest, tt.dissolution) if d is not None)
    day = working_days_before(anchor, RUN_UP_WORKING_DAYS, tt.calendar)
    if tt.notice_earliest is not None and day < tt.notice_earliest:
        day = tt.notice_earliest
    return day


def window(
    timetable: Timetable,
    policy: WindowPolicy | None = None,
    *,
    actual_notice: date | None = None,
    declared_at: datetime | None = None,
    announced_at: datetime | None = None,
) -> Window:
    """The window `timetable` makes under `policy`.

    Start (RULES.md section 2): the notice date when it is recorded (actual or planned),
    else the date the policy names: the run-up before the last day for the notice under
    `run-up`, the rule's default start under `notice-or-statutory`, and so on. Under
    `run-up` a general election whose announcement is recorded starts at the announcement
    when that comes before dissolution. A start that does not apply to this kind of
    election falls back to the default, and a notice date outside the law's bounds is
    corrected toward the conservative side; each such choice is recorded in `notes`.
    The window starts at 00:00 Europe/London on its start date (or at the announcement).
    """
    policy = policy or WindowPolicy()
    notes: list[str] = []
    start, basis, is_actual = _start(timetable, policy, actual_notice, announced_at, notes)
    end, end_basis = _end(timetable, policy, declared_at, notes)
    run_up, note = _run_up(timetable, start, actual_notice, announced_at)
    return Window(
        start=start,
        end=end,
        start_basis=basis,
        end_basis=end_basis,
        actual_notice=is_actual,
        notes=tuple(notes),
        run_up_start=run_up,
        last_day=timetable.notice_latest,
        run_up_note=note,
    )


_RUN_UP_BASIS = f"run-up: {RUN_UP_WORKING_DAYS} working days before the last day for the notice"
_RUN_UP_GE_BASIS = f"run-up: {RUN_UP_WORKING_DAYS} working days before dissolution"
ANNOUNCEMENT_BASIS = "announcement of the general election"


def _start(
    tt: Timetable,
    policy: WindowPolicy,
    actual: date | None,
    announced: datetime | None,
    notes: list[str],
) -> tuple[datetime, str, bool]:
    run_up = run_up_day(tt) if policy.start is StartPolicy.RUN_UP else None
    if run_up is not None and is_general_election(tt) and tt.dissolution is not None:
        return _general_election_run_up(tt, run_up, announced, notes)
    if actual is not None:
        day, basis, is_actual = _actual_start(tt, actual, notes)
    elif run_up is not None:
        assert tt.notice_latest is not None
        day, basis, is_actual = run_up, _RUN_UP_BASIS, False
        if run_up == tt.notice_earliest:  # the law's earliest day comes after the run-up
            basis = _BASIS_WORDS[StartBasis.EARLIEST_NOTICE]
        notes.append(
            f"the notice of election may be published any day until "
            f"{long_day(tt.notice_latest)}: restricted from the run-up until its date is "
            f"recorded (purdah election set-notice {tt.election.text} DATE)"
        )
    else:
        chosen = policy
        if policy.start is StartPolicy.RUN_UP:  # no notice of election: the rule's start
            chosen = WindowPolicy(StartPolicy.STATUTORY, policy.end)
        day, basis, is_actual = _policy_start(tt, chosen, notes)
    mandatory = tt.mandatory_start
    if mandatory is not None and mandatory < day:
        words = _BASIS_WORDS[
            StartBasis.DISSOLUTION if mandatory == tt.dissolution else StartBasis.PUBLICITY_BAN
        ]
        notes.append(f"the {words} on {mandatory} comes before {day}; starting there")
        return start_of_day(mandatory), words, False
    return start_of_day(day), basis, is_actual


def _general_election_run_up(
    tt: Timetable, run_up: date, announced: datetime | None, notes: list[str]
) -> tuple[datetime, str, bool]:
    """A general election under `run-up`: from the announcement when it is recorded and
    comes before dissolution, else from the run-up before dissolution. A notice date
    changes nothing: the notice follows dissolution."""
    assert tt.dissolution is not None
    dissolution = start_of_day(tt.dissolution)
    if announced is None:
        notes.append(
            f"restricted from the run-up before dissolution on {long_day(tt.dissolution)} "
            f"until the announcement is recorded (purdah election announce "
            f"{tt.election.text} WHEN)"
        )
        return start_of_day(run_up), _RUN_UP_GE_BASIS, False
    if announced < dissolution:
        return announced, ANNOUNCEMENT_BASIS, False
    notes.append(
        f"the announcement recorded ({announced.isoformat()}) is not before dissolution; "
        "starting at dissolution"
    )
    return dissolution, _BASIS_WORDS[StartBasis.DISSOLUTION], False


def _run_up(
    tt: Timetable, start: datetime, notice: date | None, announced: datetime | None
) -> tuple[datetime | None, str]:
    """Where the run-up begins when it comes before `start` (the policy does not restrict
    in it), and what answers in those days say."""
    day = run_up_day(tt)
    if day is None or tt.notice_latest is None:
        return None, ""
    begins = start_of_day(day)
    election = tt.election.text
    last = long_day(tt.notice_latest)
    if is_general_election(tt) and tt.dissolution is not None:
        dissolved = long_day(tt.dissolution)
        if announced is not None:
            begins = announced
            said = long_day(announced.astimezone(LONDON).date())
            note = (
                f"{election} was announced on {said}: Parliament is dissolved on {dissolved} "
                f"(notice of election by {last})"
            )
        else:
            note = (
                f"the general election {election} may be announced any day: Parliament is "
                f"dissolved on {dissolved} (notice of election by {last})"
            )
    elif notice is not None:
        note = (
            f"notice planned for {long_day(notice)}: the pre-election window for {election} "
            f"starts {long_day(start.astimezone(LONDON).date())} (last day {last})"
        )
    else:
        note = f"the notice of election for {election} may be published any day (last day {last})"
    if begins >= start:
        return None, ""
    return begins, note


def _actual_start(tt: Timetable, actual: date, notes: list[str]) -> tuple[date, str, bool]:
    if actual >= tt.poll_date:
        raise InputError(
            f"the notice of election date {actual} is not before polling day "
            f"{tt.poll_date} of {tt.election}: check the date"
        )
    if tt.notice_latest is not None and actual > tt.notice_latest:
        notes.append(
            f"the notice date entered, {actual}, is after the statutory latest "
            f"{tt.notice_latest}; starting at {tt.notice_latest} (conservative): check it"
        )
        return tt.notice_latest, _BASIS_WORDS[StartBasis.LATEST_NOTICE], False
    if tt.notice_earliest is not None and actual < tt.notice_earliest:
        notes.append(
            f"the notice date entered, {actual}, is before the "
            f"{basis_words(tt, StartBasis.EARLIEST_NOTICE)} {tt.notice_earliest}; used as "
            "entered (conservative): check it"
        )
    return actual, "actual notice of election", True


def _policy_start(tt: Timetable, policy: WindowPolicy, notes: list[str]) -> tuple[date, str, bool]:
    default = tt.rule.default_start
    basis = default if policy.start is StartPolicy.STATUTORY else _POLICY_BASIS[policy.start]
    if tt.statutory_date(basis) is None:
        notes.append(
            f"the council's start policy '{policy.start}' does not apply to a "
            f"{tt.rule.title} election; using the statutory default ({basis_words(tt, default)})"
        )
        basis = default
    if basis is StartBasis.LATEST_NOTICE and tt.notice_earliest is None:
        notes.append(
            "the notice may be published before the statutory latest date: "
            "enter the actual date when it is known"
        )
    day = tt.statutory_date(basis)
    assert day is not None
    return day, basis_words(tt, basis), False


def _end(
    tt: Timetable, policy: WindowPolicy, declared_at: datetime | None, notes: list[str]
) -> tuple[datetime, str]:
    close = london_instant(tt.poll_date, CLOSE_OF_POLL)
    if policy.end is EndPolicy.CLOSE_OF_POLL:
        return close, "close of poll (22:00)"
    if policy.end is EndPolicy.END_OF_DAY:
        return end_of_day(tt.poll_date), "end of polling day (24:00)"
    if declared_at is None:
        notes.append(
            "no declaration time entered: the window runs to the end of the day after "
            "polling day (conservative); enter the declaration time when it is known"
        )
        return end_of_day(tt.poll_date + timedelta(days=1)), "declaration (not yet entered)"
    if declared_at.tzinfo is None:
        raise InputError(
            f"the declaration time {declared_at.isoformat()} has no time zone: "
            "give an aware time (purdah reads times without an offset as Europe/London)"
        )
    if declared_at < close:
        notes.append(
            f"the declaration time {declared_at.isoformat()} is before the close of poll; "
            "ending at the close of poll"
        )
        return close, "close of poll (22:00)"
    return declared_at, "declaration"
