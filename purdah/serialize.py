"""Plain-data (JSON-ready) views of purdah's results. Shared by the CLI and the HTTP API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from purdah.calendars import CALENDAR_DESCRIPTIONS
from purdah.timetable import Timetable, Window


def iso_date(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def iso_instant(instant: datetime) -> str:
    """ISO 8601 with the UTC offset in force at that instant, to the second."""
    return instant.isoformat(timespec="seconds")


def timetable_json(tt: Timetable, win: Window, holiday_data: str) -> dict[str, Any]:
    """The `purdah timetable --json` object (a contract: keys are only ever added)."""
    kind = tt.calendar_kind
    return {
        "election_id": tt.election.text,
        "type": tt.election.type,
        "rule": tt.rule.key,
        "title": tt.rule.title,
        "nation": tt.nation.value,
        "poll_date": tt.poll_date.isoformat(),
        "by_election": tt.election.by_election,
        "notice_of_election": {
            "earliest": iso_date(tt.notice_earliest),
            "latest": iso_date(tt.notice_latest),
            "earliest_working_days": tt.rule.earliest_notice,
            "latest_working_days": tt.rule.latest_notice,
        },
        "dissolution": iso_date(tt.dissolution),
        "publicity_ban_start": iso_date(tt.publicity_start),
        "window": {
            "start": iso_instant(win.start),
            "end": iso_instant(win.end),
            "start_basis": win.start_basis,
            "end_basis": win.end_basis,
            "actual_notice": win.actual_notice,
        },
        "calendar": kind.value if kind else None,
        "calendar_description": CALENDAR_DESCRIPTIONS[kind] if kind else None,
        "extra_non_working_days": {
            d.isoformat(): r for d, r in sorted((tt.calendar.extra if tt.calendar else {}).items())
        },
        "holiday_data": holiday_data,
        "sources": list(tt.rule.sources),
        "notes": [*tt.rule.notes, *win.notes],
    }
