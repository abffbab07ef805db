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
from enum import StrEnum

from purdah.calendars import CalendarKind, NonWorkingDays, calendar, working_days_before
from purdah.clock import CLOSE_OF_POLL, end_of_day, london_instant, start_of_day
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


class StartPolicy(StrEnum):
    """Where a council's window starts when the actual notice date is not known."""

    STATUTORY = "statutory"  # the rule's default start (RULES.md "default start")
    LATEST_NOTICE = "latest-notice"
    EARLIEST_NOTICE = "earliest-notice"
    DISSOLUTION = "dissolution"


class EndPolicy(StrEnum):
    CLOSE_OF_POLL = "close-of-poll"  # 22:00 Europe/London on polling day
    END_OF_DAY = "end-of-day"  # 24:00 on polling day
    DECLARATION = "declaration"  # the declaration time the clerk entered


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
    """A half-open pre-election window [start, end) of aware Europe/London instants."""

    start: datetime
    end: datetime
    start_basis: str  # "actual notice of election", or one of _BASIS_WORDS' values
    end_basis: str
    actual_notice: bool
    notes: tuple[str, ...] = ()

    def contains(self, instant: datetime) -> bool:
        return self.start <= instant < self.end


def window(
    timetable: Timetable,
    policy: WindowPolicy | None = None,
    *,
    actual_notice: date | None = None,
    declared_at: datetime | None = None,
) -> Window:
    """The window `timetable` makes under `policy`.

    Start (RULES.md section 2): the actual notice date when known, else the date
    the policy names (the rule's default start unless the council chose another).
    A start that does not apply to this kind of election falls back to the default,
    and an actual notice date outside the law's bounds is corrected toward the
    conservative side; each such choice is recorded in `notes`.
    The window starts at 00:00 Europe/London on its start date.
    """
    policy = policy or WindowPolicy()
    notes: list[str] = []
    start_day, basis, is_actual = _start(timetable, policy, actual_notice, notes)
    end, end_basis = _end(timetable, policy, declared_at, notes)
    return Window(
        start=start_of_day(start_day),
        end=end,
        start_basis=basis,
        end_basis=end_basis,
        actual_notice=is_actual,
        notes=tuple(notes),
    )


def _start(
    tt: Timetable, policy: WindowPolicy, actual: date | None, notes: list[str]
) -> tuple[date, str, bool]:
    if actual is not None:
        day, basis, is_actual = _actual_start(tt, actual, notes)
    else:
        day, basis, is_actual = _policy_start(tt, policy, notes)
    mandatory = tt.mandatory_start
    if mandatory is not None and mandatory < day:
        words = _BASIS_WORDS[
            StartBasis.DISSOLUTION if mandatory == tt.dissolution else StartBasis.PUBLICITY_BAN
        ]
        notes.append(f"the {words} on {mandatory} comes before {day}; starting there")
        return mandatory, words, False
    return day, basis, is_actual


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
