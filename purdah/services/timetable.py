"""`purdah timetable`: the statutory dates and window of one election."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from purdah.calendars import holiday_data_version, holiday_data_years
from purdah.ids import Nation, parse_election_id
from purdah.timetable import Timetable, Window, WindowPolicy, compute_timetable, window


@dataclass(frozen=True)
class TimetableAnswer:
    timetable: Timetable
    window: Window
    holiday_data: str


def describe(
    election_id: str,
    nation: Nation | None = None,
    *,
    policy: WindowPolicy | None = None,
    actual_notice: date | None = None,
    declared_at: datetime | None = None,
    extra_non_working: Mapping[date, str] | None = None,
    referendum: str | None = None,
) -> TimetableAnswer:
    """The timetable and window of one election; a poll that cannot be held is refused
    (purdah.polls says why and under which law)."""
    from purdah.polls import check_poll_can_exist

    election = parse_election_id(election_id)
    tt = compute_timetable(election, nation, extra_non_working, referendum)
    check_poll_can_exist(tt)
    win = window(tt, policy, actual_notice=actual_notice, declared_at=declared_at)
    first, last = holiday_data_years()
    return TimetableAnswer(tt, win, f"{holiday_data_version()} (years {first}-{last})")
