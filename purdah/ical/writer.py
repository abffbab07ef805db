"""Restricted-period feeds councillors subscribe to (pure: periods in, bytes out).

One VEVENT per restricted period: overlapping or touching windows of the council (or,
for one councillor, those that cover their ward) are merged into one period listing
every election. Events are timed, with TZID=Europe/London and its VTIMEZONE, because a
period usually ends at 22:00 on polling day: an all-day event would say the whole day.

Stable output: UIDs come from database keys (the first window of the period); DTSTAMP,
LAST-MODIFIED and SEQUENCE come from when the period's windows last changed, never from
"now", so two exports of unchanged data are byte-identical and the HTTP ETag changes
only when the data does.

UIDs: a period's UID is built from the lowest id among its windows (the oldest), so adding
a window to a period keeps its UID. A removed window (RemovedInfo: poll cancelled before
the period began, withdrawn, the area changed) is published as STATUS:CANCELLED under the
UID it had, with a higher SEQUENCE, until its `expires_at` (30 days after the removal, or
the period's end if later: purdah.services.windows.REMOVED_KEPT), then left out. Removed
windows are grouped with the live ones as `merge` would have: a removed window is
published only when it would have led its period (had the lowest id), so no UID that was
never published appears cancelled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
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
    # Plain words for the title, e.g. "Ashfield District Council election" (election_name).
    election_name: str = ""
    poll_date: date | None = None
    notes: str = ""  # why the window is as it is (moved, cancelled, assumptions)
    poll_cancelled: bool = False  # cancelled after the period began: it ended then


@dataclass(frozen=True)
class RemovedInfo:
    """A removed window, published as a cancelled event until `expires_at`."""

    window_id: int
    election_id: str
    election_name: str
    poll_date: date
    start: datetime
    end: datetime
    rule_title: str
    reason: str
    removed_at: datetime
    expires_at: datetime

    @property
    def sequence(self) -> int:
        """Above every SEQUENCE the period had while live (those count minutes up to the
        removal at the latest)."""
        return _minutes(self.removed_at) + 1


def _minutes(instant: datetime) -> int:
    return int((instant.astimezone(UTC) - _EPOCH).total_seconds() // 60)


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime
    windows: tuple[WindowInfo, ...]
    # A removed window whose id SQLite gave again to this period's window: its cancelled
    # event had this SEQUENCE, and the period must go above it.
    floor: int = 0

    @property
    def uid_id(self) -> int:
        return min(w.id for w in self.windows)

    @property
    def last_modified(self) -> datetime:
        return max((w.changed_at or _EPOCH) for w in self.windows).astimezone(UTC)

    @property
    def sequence(self) -> int:
        """Minutes since 2020 of the last change: it only ever grows, and only on a change."""
        return max(_minutes(self.last_modified), self.floor)


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


def periods_and_cancelled(
    live: list[WindowInfo], removed: list[RemovedInfo], now: datetime
) -> tuple[list[Period], list[RemovedInfo]]:
    """The live periods, and the removed windows to publish as cancelled at `now`."""
    current = [r for r in removed if r.expires_at > now]
    live_ids = {w.id for w in live}
    # An id SQLite reused for a live window: the live period wins, above the old SEQUENCE.
    floors = {r.window_id: r.sequence for r in current if r.window_id in live_ids}
    current = [r for r in current if r.window_id not in live_ids]
    periods = [
        Period(p.start, p.end, p.windows, floors.get(p.uid_id, 0)) if floors else p
        for p in merge(live)
    ]
    spans = sorted(
        [(w.start, w.end, w.id, None) for w in live]
        + [(r.start, r.end, r.window_id, r) for r in current],
        key=lambda s: (s[0], s[2]),
    )
    shown: list[RemovedInfo] = []
    group: list[tuple[datetime, datetime, int, RemovedInfo | None]] = []
    for span in [*spans, None]:
        if span is not None and group and span[0] <= max(g[1] for g in group):
            group.append(span)
            continue
        if group:
            lead = min(group, key=lambda g: g[2])[3]
            if lead is not None:
                shown.append(lead)
        group = [span] if span is not None else []
    return periods, shown


_TYPE_WORDS = {
    "pcc": "Police and Crime Commissioner election",
    "gla": "London Assembly election",
    "senedd": "Senedd election",
    "naw": "Senedd election",
    "sp": "Scottish Parliament election",
    "nia": "Northern Ireland Assembly election",
    "europarl": "European Parliament election",
}
_SMALL = {"and", "of", "the", "upon", "on", "in", "with", "under", "by", "le", "en"}


def place(slug: str) -> str:
    """A place from its slug, in plain words: "runcorn-and-helsby" -> "Runcorn and Helsby"."""
    words = slug.replace("_", "-").split("-")
    out = [
        w.upper() if w in ("ca", "uk") else (w if i and w in _SMALL else w.capitalize())
        for i, w in enumerate(words)
    ]
    return " ".join(out).replace(" CA", " Combined Authority")


@lru_cache(maxsize=8192)
def election_name(election_id: str, area_council: str | None = None) -> str:
    """The election in plain words, e.g. "Ashfield District Council election". `area_council`
    is the registered name of the council whose slug is the election's area, if any."""
    from purdah.errors import ElectionIdError
    from purdah.ids import parse_election_id

    try:
        e = parse_election_id(election_id)
    except ElectionIdError:
        return election_id
    kind = "by-election" if e.by_election else "election"
    division = f" ({place(e.division)})" if e.division else ""
    where = place(e.organisation) if e.organisation else None
    if e.type == "local":
        if area_council:
            return f"{area_council} {kind}{division}"
        return f"{where} local {kind}{division}" if where else f"local {kind}s"
    if e.type == "parl":
        if e.by_election:
            return f"UK Parliament by-election{division}"
        return "UK Parliament general election"
    if e.type == "mayor":
        if e.organisation == "london":
            return "Mayor of London election"
        return (
            f"{area_council or where} mayoral election"
            if (area_council or where)
            else ("mayoral election")
        )
    if e.type == "ref":
        return f"{area_council or where} referendum" if (area_council or where) else "referendum"
    words = _TYPE_WORDS.get(e.type)
    if words is None:
        return election_id
    if e.by_election:
        words = words.replace(" election", " by-election")
    if e.type == "pcc" and where:
        return f"{where} {words}"
    return words + division


def _day(value: date) -> str:
    return f"{value.day} {value:%B %Y}"


def _names(names: list[str]) -> str:
    if len(names) > 1 and all(n.endswith(" election") for n in names):
        stems = [n.removesuffix(" election") for n in names]
        return ", ".join(stems[:-1]) + " and " + stems[-1] + " elections"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


# A title lists at most this many elections; the description lists them all.
TITLE_ELECTIONS = 4


def title(elections: list[tuple[str, date | None]]) -> str:
    """ "Pre-election period: Ashfield District Council and Selston Parish Council
    elections, 6 May 2027"; several polling days are listed in order, with "; "."""
    by_day: dict[date | None, list[str]] = {}
    for name, day in sorted(elections, key=lambda e: (e[1] or date.max, e[0])):
        if name not in by_day.setdefault(day, []):
            by_day[day].append(name)
    parts, listed = [], 0
    total = sum(len(v) for v in by_day.values())
    for day, names in by_day.items():
        room = TITLE_ELECTIONS - listed
        if room <= 0:
            break
        shown = names[:room]
        listed += len(shown)
        text = _names(shown)
        parts.append(f"{text}, {_day(day)}" if day else text)
    more = f" (and {total - listed} more)" if total > listed else ""
    return "Pre-election period: " + "; ".join(parts) + more


def _when(instant: datetime) -> str:
    return instant.astimezone(LONDON).strftime("%a %d %b %Y %H:%M %Z")


_CODE = (
    "posting on the council's accounts is withdrawn from every councillor, and the council "
    "does not promote councillors' accounts or posts (Code of Recommended Practice on Local "
    "Authority Publicity, para 34)"
)


def _description(period: Period, who: str) -> str:
    lines = [
        f"From {_when(period.start)} to {_when(period.end)}.",
        f"Restricted for {who}: {_CODE}.",
        "",
        "Elections:",
    ]
    for w in period.windows:
        start = (
            w.start_basis
            if w.actual_notice
            else (f"{w.start_basis}; the actual notice date is not recorded yet")
        )
        name = w.election_name or w.election_id
        day = f", polling day {w.poll_date:%A} {_day(w.poll_date)}" if w.poll_date else ""
        lines.append(
            f"- {name}{day} (election id {w.election_id}): {_when(w.start)} to "
            f"{_when(w.end)}. Starts at: {start}. Ends at: {w.end_basis}. "
            f"Rule: {w.rule_title} ({'; '.join(w.sources)})."
        )
        if w.notes:
            lines.append(f"  Note: {w.notes}.")
    lines += [
        "",
        "Councillors' own personal accounts are not restricted by the Code (no council "
        "resources; campaign posts need a digital imprint). Produced by purdah.",
    ]
    return "\n".join(lines)


def _cancelled_description(r: RemovedInfo, who: str) -> str:
    return "\n".join(
        [
            f"Cancelled: this pre-election period no longer applies to {who}, because "
            f"{r.reason} (recorded {_when(r.removed_at)}).",
            "",
            f"It was: {r.election_name} (election id {r.election_id}), polling day "
            f"{r.poll_date:%A} {_day(r.poll_date)}, restricted from {_when(r.start)} to "
            f"{_when(r.end)}. Rule: {r.rule_title}.",
            "",
            "Another election may still restrict the same days: see the other events of "
            f"this calendar. This notice stays until {_when(r.expires_at)} so that "
            "calendars drop the event, then it is left out. Produced by purdah.",
        ]
    )


def render(
    periods: list[Period],
    *,
    name: str,
    description: str,
    uid_prefix: str,
    who: str,
    url: str | None = None,
    removed: tuple[RemovedInfo, ...] = (),
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
    if periods or removed:
        cal.add_component(london_vtimezone())  # before the events that use it
    events: list[tuple[datetime, int, Any]] = []
    for period in periods:
        event = icalendar.Event()
        event.add("UID", f"{uid_prefix}-w{period.uid_id}@purdah")
        event.add("DTSTAMP", period.last_modified)
        event.add("LAST-MODIFIED", period.last_modified)
        event.add("SEQUENCE", period.sequence)
        event.add("DTSTART", period.start.astimezone(LONDON))
        event.add("DTEND", period.end.astimezone(LONDON))
        event.add(
            "SUMMARY",
            title(
                [
                    (
                        (w.election_name or w.election_id)
                        + (" (poll cancelled)" if w.poll_cancelled else ""),
                        w.poll_date,
                    )
                    for w in period.windows
                ]
            ),
        )
        event.add("DESCRIPTION", _description(period, who))
        event.add("CATEGORIES", ["Pre-election period"])
        event.add("TRANSP", "TRANSPARENT")
        event.add("STATUS", "CONFIRMED")
        event.add("CLASS", "PUBLIC")
        events.append((period.start, period.uid_id, event))
    for r in removed:
        event = icalendar.Event()
        event.add("UID", f"{uid_prefix}-w{r.window_id}@purdah")
        event.add("DTSTAMP", r.removed_at.astimezone(UTC))
        event.add("LAST-MODIFIED", r.removed_at.astimezone(UTC))
        event.add("SEQUENCE", r.sequence)
        event.add("DTSTART", r.start.astimezone(LONDON))
        event.add("DTEND", r.end.astimezone(LONDON))
        event.add("SUMMARY", "Cancelled: " + title([(r.election_name, r.poll_date)]))
        event.add("DESCRIPTION", _cancelled_description(r, who))
        event.add("CATEGORIES", ["Pre-election period"])
        event.add("TRANSP", "TRANSPARENT")
        event.add("STATUS", "CANCELLED")
        event.add("CLASS", "PUBLIC")
        events.append((r.start, r.window_id, event))
    for _, _, event in sorted(events, key=lambda e: (e[0], e[1])):
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


def last_modified(
    periods: list[Period],
    fallback: datetime,
    removed: Sequence[RemovedInfo] = (),
    now: datetime | None = None,
) -> datetime:
    """The feed's last change: of its periods, of every removal, and of every cancelled
    event that has since expired (the bytes changed then), so it never goes back."""
    instants = [p.last_modified for p in periods] + [r.removed_at for r in removed]
    if now is not None:
        instants += [r.expires_at for r in removed if r.expires_at <= now]
    return max((i.astimezone(UTC) for i in instants), default=fallback)
