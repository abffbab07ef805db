"""Restricted-period feeds councillors subscribe to (pure: periods in, bytes out).

One VEVENT per restricted period: overlapping or touching windows of the council (or,
for one councillor, those that cover their ward) are merged into one period listing
every election. Events are timed, with TZID=Europe/London and its VTIMEZONE, because a
period usually ends at 22:00 on polling day: an all-day event would say the whole day.

Stable output: UIDs come from database keys (the first window of the period); DTSTAMP,
LAST-MODIFIED and SEQUENCE come from when the period's windows last changed, never from
"now", so two exports of unchanged data are byte-identical and the HTTP ETag changes
only when the data does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from purdah.clock import LONDON

REFRESH = timedelta(hours=12)
# SEQUENCE counts minutes from here; a window with no recorded change counts as changed then.
_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class WindowInfo:
    id: int
    election_id: str
    start: datetime
    end: datetime
    start_basis: str
    end_basis: str
    actual_notice: bool
    rule_title: str
    sources: tuple[str, ...]
    changed_at: datetime | None


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime
    windows: tuple[WindowInfo, ...]

    @property
    def last_modified(self) -> datetime:
        return max((w.changed_at or _EPOCH) for w in self.windows).astimezone(UTC)

    @property
    def sequence(self) -> int:
        """Minutes since 2020 of the last change: it only ever grows, and only on a change."""
        return int((self.last_modified - _EPOCH).total_seconds() // 60)


def merge(windows: list[WindowInfo]) -> list[Period]:
    """Overlapping or touching windows become one period (a council's restricted time is
    the union of its windows)."""
    periods: list[list[WindowInfo]] = []
    for window in sorted(windows, key=lambda w: (w.start, w.id)):
        if periods and window.start <= max(w.end for w in periods[-1]):
            periods[-1].append(window)
        else:
            periods.append([window])
    return [
        Period(min(w.start for w in group), max(w.end for w in group), tuple(group))
        for group in periods
    ]


def _when(instant: datetime) -> str:
    return instant.astimezone(LONDON).strftime("%a %d %b %Y %H:%M %Z")


def _description(period: Period, who: str) -> str:
    lines = [
        f"From {_when(period.start)} to {_when(period.end)}.",
        f"Restricted for {who}: posting on the council's accounts is withdrawn from every "
        "councillor, and the council does not promote councillors' accounts or posts "
        "(Code of Recommended Practice on Local Authority Publicity, para 34).",
        "",
        "Elections:",
    ]
    for w in period.windows:
        start = (
            w.start_basis
            if w.actual_notice
            else (f"{w.start_basis}; the actual notice date is not recorded yet")
        )
        lines.append(
            f"- {w.election_id}: {_when(w.start)} to {_when(w.end)}. Starts at: {start}. "
            f"Ends at: {w.end_basis}. Rule: {w.rule_title} ({'; '.join(w.sources)})."
        )
    lines += [
        "",
        "Councillors' own personal accounts are not restricted by the Code (no council "
        "resources; campaign posts need a digital imprint). Produced by purdah.",
    ]
    return "\n".join(lines)


def render(
    periods: list[Period],
    *,
    name: str,
    description: str,
    uid_prefix: str,
    who: str,
    url: str | None = None,
) -> bytes:
    import icalendar
    from icalendar.prop import vDuration

    cal = icalendar.Calendar()
    cal.add("VERSION", "2.0")
    cal.add("PRODID", "-//purdah//restricted periods//EN")
    cal.add("CALSCALE", "GREGORIAN")
    cal.add("METHOD", "PUBLISH")
    cal.add("NAME", name)
    cal.add("X-WR-CALNAME", name)
    cal.add("DESCRIPTION", description)
    cal.add("X-WR-CALDESC", description)
    # Built as vDuration: the refresh_interval setter omits VALUE=DURATION, and a plain
    # timedelta for X-PUBLISHED-TTL serialises wrongly (ICALENDAR.md).
    cal.add("REFRESH-INTERVAL", vDuration(REFRESH), parameters={"VALUE": "DURATION"})
    cal.add("X-PUBLISHED-TTL", vDuration(REFRESH))
    if url:
        cal.add("SOURCE", url, parameters={"VALUE": "URI"})
    if periods:
        cal.add_component(london_vtimezone())  # before the events that use it
    for period in periods:
        event = icalendar.Event()
        event.add("UID", f"{uid_prefix}-w{period.windows[0].id}@purdah")
        event.add("DTSTAMP", period.last_modified)
        event.add("LAST-MODIFIED", period.last_modified)
        event.add("SEQUENCE", period.sequence)
        event.add("DTSTART", period.start.astimezone(LONDON))
        event.add("DTEND", period.end.astimezone(LONDON))
        elections = ", ".join(w.election_id for w in period.windows)
        event.add("SUMMARY", f"Pre-election period ({elections})")
        event.add("DESCRIPTION", _description(period, who))
        event.add("CATEGORIES", ["Pre-election period"])
        event.add("TRANSP", "TRANSPARENT")
        event.add("STATUS", "CONFIRMED")
        event.add("CLASS", "PUBLIC")
        cal.add_component(event)
    return bytes(cal.to_ical())


def london_vtimezone() -> Any:
    """Europe/London as two yearly rules (BST from 01:00 UTC on the last Sunday of March to
    01:00 UTC on the last Sunday of October), as Thunderbird writes it.

    Not icalendar's add_missing_timezones(): that lists transitions as multi-valued RDATEs,
    of which ical.js (Thunderbird's parser) reads only the first, putting every period after
    the first year an hour out. tests/ical/test_writer.py checks these rules against
    zoneinfo for every year the product can use.
    """
    import icalendar

    tz = icalendar.Timezone()
    tz.add("TZID", "Europe/London")
    tz.add("X-LIC-LOCATION", "Europe/London")
    for kind, name, start, offsets, month in (
        # A VTIMEZONE DTSTART is local time with no zone (RFC 5545 3.6.5): naive on purpose.
        (icalendar.TimezoneDaylight, "BST", datetime(1970, 3, 29, 1), (0, 1), 3),  # noqa: DTZ001
        (icalendar.TimezoneStandard, "GMT", datetime(1970, 10, 25, 2), (1, 0), 10),  # noqa: DTZ001
    ):
        part = kind()
        part.add("TZNAME", name)
        part.add("TZOFFSETFROM", timedelta(hours=offsets[0]))
        part.add("TZOFFSETTO", timedelta(hours=offsets[1]))
        part.add("DTSTART", start)
        part.add("RRULE", {"FREQ": "YEARLY", "BYMONTH": month, "BYDAY": "-1SU"})
        tz.add_component(part)
    return tz


def last_modified(periods: list[Period], fallback: datetime) -> datetime:
    return max((p.last_modified for p in periods), default=fallback)
