"""Read election calendars: bytes in, one `Occurrence` per event occurrence out.

Written for what real feeds do (../shared/ICALENDAR.md): Google exports with
X-WR-TIMEZONE and UTC times, Outlook/Exchange time zone names and `BYDAY=MO, TU`,
several VCALENDARs in one stream, a BOM, CRLF or LF, bad bytes, truncated downloads,
duplicate UIDs, missing UIDs, recurrence with overrides and cancellations, and hostile
rules. A file that cannot be read raises `FeedRejected` saying where and why; a problem
in one event is a `Problem` (a warning naming the event) and the rest is read.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from purdah.clock import LONDON
from purdah.errors import FeedRejected as FeedRejected  # re-exported: its old home
from purdah.errors import RuleError, RuleRefused
from purdah.ical.bounds import count_between, parse_rule
from purdah.ical.sniff import excerpt, printable, what_it_is


@dataclass(frozen=True)
class Limits:
    """What one source may hold. With these the reading of any file stays under 500 MB and
    about a minute on a 2-core machine (tests/ical/test_hostile.py runs the hostile
    fixtures under that memory cap; bench/bench_hostile.py measures them)."""

    max_bytes: int = 16 * 1024 * 1024
    max_lines: int = 500_000  # icalendar holds about 0.4 kB per content line
    max_events: int = 50_000
    max_timezones: int = 100  # VTIMEZONE blocks
    max_timezone_parts: int = 2_000  # STANDARD and DAYLIGHT blocks within them
    max_depth: int = 8  # components nested in components
    max_series_occurrences: int = 1_000  # one recurring event, within --since/--until
    max_source_occurrences: int = 5_000  # all recurring events of the source together
    seconds: float = 60.0


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Problem:
    uid: str | None
    summary: str | None
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}, " if self.line else ""
        # repr escapes control characters; long values are cut.
        who = f"event {_short(self.uid or '')!r}"
        if self.summary:
            who += f" ({_short(self.summary)!r})"
        return f"{where}{who}: {self.message}" if self.uid else f"{where}{self.message}"


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class Occurrence:
    """One occurrence of one event, reduced to what the importer needs."""

    uid: str
    recurrence_id: str | None  # set for occurrences of a recurring series
    summary: str
    description: str
    categories: tuple[str, ...]
    url: str
    extra: dict[str, str]  # X- properties of the event
    poll_date: date  # the Europe/London date of the start
    cancelled: bool
    sequence: int
    line: int | None

    @property
    def key(self) -> str:
        """Identity within a source: UID plus RECURRENCE-ID."""
        return self.uid if self.recurrence_id is None else f"{self.uid}#{self.recurrence_id}"


@dataclass
class ReadResult:
    occurrences: list[Occurrence] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    calendars: int = 0
    events: int = 0
    expanded: int = 0  # occurrences that came from expanding recurring events


# icalendar caches custom VTIMEZONEs for the whole process, first one wins: reset and
# parse under a lock so that two feeds defining "Customized Time Zone" differently
# do not share offsets.
_PARSE_LOCK = threading.Lock()
_COMPONENT = re.compile(rb"^(BEGIN|END):([A-Za-z0-9-]+)", re.MULTILINE)
_RRULE_LINE = re.compile(rb"^(RRULE|EXRULE)([;:].*)$", re.MULTILINE | re.IGNORECASE)


def read_calendar(
    data: bytes, source: str, since: date, until: date, limits: Limits | None = None
) -> ReadResult:
    """Parse `data` (the bytes of one .ics source) into occurrences between since and until."""
    limits = limits or DEFAULT_LIMITS
    if len(data) > limits.max_bytes:
        raise FeedRejected(
            f"{source}: {len(data):,} bytes is more than the limit of {limits.max_bytes:,}; "
            "split the calendar or raise the limit"
        )
    kind = what_it_is(data)
    if kind:
        raise FeedRejected(
            f"{source}: this is {kind}, not an iCalendar (.ics) file; nothing was imported "
            "(check the file, or that the URL gives the calendar itself)"
        )
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data.strip():
        raise FeedRejected(f"{source}: the file is empty")
    result = ReadResult()
    data = _strip_nul(data, source, result)
    text_problem = _check_utf8(data)
    if text_problem:
        result.problems.append(text_problem)
    if not re.match(rb"\s*BEGIN:VCALENDAR", data[:1024], re.IGNORECASE):
        raise FeedRejected(
            f"{source}: it does not start with BEGIN:VCALENDAR, so it is not an iCalendar "
            f"file (it starts {excerpt(data.lstrip()[:60])}); nothing was imported"
        )
    if not re.search(rb"END:VCALENDAR\s*$", data[-200:], re.IGNORECASE):
        raise FeedRejected(
            f"{source}: it does not end with END:VCALENDAR, so the download looks truncated; "
            "nothing was imported (fetch it again)"
        )
    _check_shape(data, source, limits)
    data = _RRULE_LINE.sub(lambda m: m.group(1) + m.group(2).replace(b", ", b","), data)
    calendars = _parse(data, source)
    if not calendars:
        raise FeedRejected(f"{source}: no calendar could be read from it")
    result.calendars = len(calendars)
    lines = _line_index(data)
    deadline = time.monotonic() + limits.seconds
    for calendar in calendars:
        _read_one(calendar, source, since, until, limits, deadline, lines, result)
    return result


def _strip_nul(data: bytes, source: str, result: ReadResult) -> bytes:
    """NUL bytes: no text value can hold one (PostgreSQL refuses them), so they are removed,
    and said so. A line of nothing but NULs is a zero-filled block, the mark of a damaged
    or half-written file: that is refused, so no calendar with a hole in it is imported."""
    if b"\x00" not in data:
        return data
    lines = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        if b"\x00" in line:
            if not line.strip(b"\x00\r"):
                raise FeedRejected(
                    f"{source}: line {number} is nothing but NUL bytes ({line.count(0):,} of "
                    "them), the mark of a damaged or half-written file; nothing was imported "
                    "(fetch or export it again)"
                )
            lines.append(number)
    count = data.count(0)
    where = ""
    if len(lines) > 1:
        where = " (lines " + ", ".join(str(n) for n in lines[:10])
        where += " ...)" if len(lines) > 10 else ")"
    result.problems.append(
        Problem(
            None,
            None,
            f"{count:,} NUL byte{'s' if count > 1 else ''} removed{where}, as no text can hold "
            "one; check the text of that event",
            lines[0],
        )
    )
    return data.replace(b"\x00", b"")


def _check_shape(data: bytes, source: str, limits: Limits) -> None:
    """Refuse, before parsing, what would take too much memory or time to parse."""
    lines = data.count(b"\n") + 1
    if lines > limits.max_lines:
        raise FeedRejected(
            f"{source}: {lines:,} lines is more than the limit of {limits.max_lines:,}; "
            "nothing was imported (split the calendar)"
        )
    events = timezones = parts = depth = 0
    inside_tz = False
    for match in _COMPONENT.finditer(data):
        name = match.group(2).upper()
        if match.group(1).upper() == b"BEGIN":
            depth += 1
            if depth > limits.max_depth:
                line = data.count(b"\n", 0, match.start()) + 1
                raise FeedRejected(
                    f"{source}: line {line}: components nested more than {limits.max_depth} "
                    "deep; nothing was imported"
                )
            if name == b"VEVENT":
                events += 1
            elif name == b"VTIMEZONE":
                timezones += 1
                inside_tz = True
            elif inside_tz:
                parts += 1
        else:
            depth = max(0, depth - 1)
            if name == b"VTIMEZONE":
                inside_tz = False
        if timezones > limits.max_timezones or parts > limits.max_timezone_parts:
            line = data.count(b"\n", 0, match.start()) + 1
            raise FeedRejected(
                f"{source}: line {line}: more than {limits.max_timezones:,} time zone "
                f"definitions (VTIMEZONE) or {limits.max_timezone_parts:,} rules within them; "
                "nothing was imported"
            )
    if events > limits.max_events:
        raise FeedRejected(
            f"{source}: more than {limits.max_events:,} events; nothing was imported"
        )


def _check_utf8(data: bytes) -> Problem | None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return Problem(
            None,
            None,
            f"bytes that are not UTF-8 (at byte {exc.start}); they were "
            "read as U+FFFD, so check the text of that event",
            line,
        )
    return None


def _parse(data: bytes, source: str) -> list[Any]:
    import icalendar

    with _PARSE_LOCK:
        icalendar.use_zoneinfo()  # type: ignore[no-untyped-call]
        try:
            return list(icalendar.Calendar.from_ical(data, multiple=True))
        except ValueError as exc:
            message = str(exc)
            line = _find_line(data, message)
            where = f" line {line}" if line else ""
            raise FeedRejected(
                f"{source}:{where}: cannot be read as iCalendar ({printable(message, 160)}); "
                "nothing was "
                "imported: fix or remove that line"
            ) from None


def _find_line(data: bytes, message: str) -> int | None:
    quoted = re.search(r"'([^']{4,})'", message)
    if not quoted:
        return None
    index = data.find(quoted.group(1).encode("utf-8", "replace"))
    return data.count(b"\n", 0, index) + 1 if index >= 0 else None


def _line_index(data: bytes) -> dict[bytes, int]:
    """Line number of each UID line, to point warnings at their event."""
    found: dict[bytes, int] = {}
    for number, line in enumerate(data.splitlines(), start=1):
        if line[:4].upper() == b"UID:":
            found.setdefault(line[4:].strip(), number)
    return found


def _read_one(
    calendar: Any,
    source: str,
    since: date,
    until: date,
    limits: Limits,
    deadline: float,
    lines: dict[bytes, int],
    result: ReadResult,
) -> None:
    # Google's X-WR-TIMEZONE: the zone of floating times, and of recurring series (see
    # _expand). Converting the whole calendar would copy it; a UTC start gives the same
    # London date either way.
    floating = None
    zone_name = str(calendar.get("X-WR-TIMEZONE") or "").strip()
    if zone_name:
        try:
            floating = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            result.problems.append(
                Problem(
                    None,
                    None,
                    f"X-WR-TIMEZONE {zone_name!r} is not a "
                    "known time zone; floating times read as Europe/London",
                )
            )
    events = list(calendar.walk("VEVENT"))
    result.events += len(events)
    if result.events > limits.max_events:
        raise FeedRejected(
            f"{source}: more than {limits.max_events:,} events; nothing was imported"
        )
    groups: dict[str, list[Any]] = defaultdict(list)
    for event in events:
        uid = str(event.get("UID") or "").strip() or _synthetic_uid(event)
        groups[uid].append(event)
    timezones = list(calendar.walk("VTIMEZONE"))
    for uid, group in groups.items():
        line = lines.get(uid.encode())
        if time.monotonic() > deadline:
            raise FeedRejected(
                f"{source}: reading took more than {limits.seconds:.0f} s; nothing was imported"
            )
        summary = _text(group[0], "SUMMARY")
        try:
            if any(e.get("RRULE") or e.get("RDATE") for e in group):
                occurrences, warnings = _expand(
                    uid, group, timezones, since, until, limits, deadline, line, floating
                )
                result.expanded += len(occurrences)
            else:
                occurrences, warnings = _single(uid, group, line, floating)
        except _EventProblem as exc:
            result.problems.append(Problem(uid, summary, str(exc), line))
            continue
        except _OverLimit as exc:
            raise FeedRejected(
                f"{source}: line {line or '?'}: event {printable(uid, 80)!r}: {exc}; "
                "nothing was imported"
            ) from None
        # Bad properties icalendar set aside (the event itself was read): warnings.
        warnings += [f"{name}: {message}" for e in group for name, message in e.errors]
        result.problems += [Problem(uid, summary, w, line) for w in dict.fromkeys(warnings)]
        result.occurrences.extend(occurrences)
        if result.expanded > limits.max_source_occurrences:
            raise FeedRejected(
                f"{source}: line {line or '?'}: event {printable(uid, 80)!r}: its recurring "
                f"events together give more than {limits.max_source_occurrences:,} "
                f"occurrences between {since} and {until}, the limit for one source; "
                "nothing was imported (narrow --since/--until)"
            )


class _EventProblem(Exception):
    """One event cannot be read: it is skipped with a warning, the rest is read."""


class _OverLimit(Exception):
    """One event is over a limit: the whole source is refused."""


def _synthetic_uid(event: Any) -> str:
    """A stable UID for an event that has none, so that re-importing is idempotent."""
    parts = [str(event.get(name, "")) for name in ("DTSTART", "SUMMARY", "DESCRIPTION", "URL")]
    start = event.get("DTSTART")
    if start is not None:
        try:
            parts[0] = str(start.dt)
        except Exception:  # a broken value: its text still identifies it
            parts[0] = str(start)
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]
    return f"purdah-{digest}"


def _dt(prop: Any, name: str = "DTSTART") -> Any:
    """The value of a date property, or _EventProblem if the file's value is broken."""
    try:
        return prop.dt
    except Exception as exc:  # icalendar raises on broken properties
        detail = str(exc).split(": ")[-1]
        raise _EventProblem(f"its {name} cannot be read ({detail}); skipped") from None


def _text(event: Any, name: str) -> str:
    value = event.get(name)
    return str(value).strip() if value is not None else ""


def _categories(event: Any) -> tuple[str, ...]:
    found: list[str] = []
    values = event.get("CATEGORIES")
    for value in values if isinstance(values, list) else [values] if values else []:
        cats = getattr(value, "cats", None)
        found += [str(c) for c in cats] if cats is not None else [str(value)]
    return tuple(c.strip() for c in found if str(c).strip())


def _sequence(event: Any) -> int:
    try:
        return int(event.get("SEQUENCE", 0))
    except (TypeError, ValueError):
        return 0


def _local_date(value: Any, floating: ZoneInfo | None) -> tuple[date, str | None]:
    """The Europe/London date of a DTSTART value, and a warning if a guess was needed."""
    if isinstance(value, datetime):
        if value.tzinfo is None and floating is not None:
            return value.replace(tzinfo=floating).astimezone(LONDON).date(), None
        if value.tzinfo is None:
            return value.date(), (
                "its start has no usable time zone (unknown TZID or floating time); "
                "read as Europe/London"
            )
        return value.astimezone(LONDON).date(), None
    if isinstance(value, date):
        return value, None
    raise _EventProblem(f"its start {value!r} is not a date or a time")


def _occurrence(
    uid: str,
    event: Any,
    start: Any,
    recurrence_id: str | None,
    line: int | None,
    floating: ZoneInfo | None = None,
) -> tuple[Occurrence, str | None]:
    day, warning = _local_date(start, floating)
    extra = {str(k).upper(): str(v) for k, v in event.items() if str(k).upper().startswith("X-")}
    status = _text(event, "STATUS").upper()
    return Occurrence(
        uid=uid,
        recurrence_id=recurrence_id,
        summary=_text(event, "SUMMARY"),
        description=_text(event, "DESCRIPTION"),
        categories=_categories(event),
        url=_text(event, "URL"),
        extra=extra,
        poll_date=day,
        cancelled=status == "CANCELLED",
        sequence=_sequence(event),
        line=line,
    ), warning


def _single(
    uid: str, group: list[Any], line: int | None, floating: ZoneInfo | None
) -> tuple[list[Occurrence], list[str]]:
    """Events that do not recur: per RECURRENCE-ID (or none) the highest SEQUENCE wins."""
    best: dict[str | None, Any] = {}
    for event in group:
        rid = event.get("RECURRENCE-ID")
        key = None if rid is None else str(_dt(rid, "RECURRENCE-ID"))
        if key not in best or _sequence(event) >= _sequence(best[key]):
            best[key] = event
    found, warnings = [], []
    for key, event in best.items():
        start = event.get("DTSTART")
        if start is None:
            raise _EventProblem("it has no DTSTART, so it has no date; skipped")
        occurrence, warning = _occurrence(uid, event, _dt(start), key, line, floating)
        found.append(occurrence)
        if warning:
            warnings.append(warning)
    return found, warnings


def _expand(
    uid: str,
    group: list[Any],
    timezones: list[Any],
    since: date,
    until: date,
    limits: Limits,
    deadline: float,
    line: int | None,
    floating: ZoneInfo | None,
) -> tuple[list[Occurrence], list[str]]:
    import icalendar
    import recurring_ical_events
    import x_wr_timezone

    bound, warnings = _bound_series(group, since, until, limits)
    if bound > limits.max_series_occurrences:
        raise _OverLimit(
            f"its recurrence gives about {bound:,} occurrences between {since} and {until}, "
            f"more than the limit of {limits.max_series_occurrences:,} for one series "
            "(no election calendar repeats that often)"
        )
    if len(group) == 1 and not (group[0].get("RRULE") or group[0].get("RDATE")):
        # Every rule was dropped (no date in the window): only its own start is left.
        start = _dt(group[0]["DTSTART"])
        occurrence, warning = _occurrence(uid, group[0], start, str(start), line, floating)
        if not since <= occurrence.poll_date <= until:
            return [], warnings
        return [occurrence], warnings + ([warning] if warning else [])
    mini = icalendar.Calendar()
    for component in (*timezones, *group):
        mini.add_component(component)
    if floating is not None:
        # Google series in UTC keep their local time across the clock change only once
        # X-WR-TIMEZONE is applied.
        mini.add("X-WR-TIMEZONE", floating.key)
        mini = x_wr_timezone.to_standard(mini)
    found: list[Occurrence] = []
    try:
        query = recurring_ical_events.of(mini, skip_bad_series=True)
        for count, event in enumerate(query.between(since, until + timedelta(days=1)), start=1):
            if count > limits.max_series_occurrences:
                raise _OverLimit(
                    f"its recurrence gives more than {limits.max_series_occurrences:,} "
                    f"occurrences between {since} and {until}, the limit for one series"
                )
            if time.monotonic() > deadline:
                raise _OverLimit(f"reading took more than {limits.seconds:.0f} s")
            start = _dt(event.get("DTSTART"))
            rid = event.get("RECURRENCE-ID")
            rid_text = str(_dt(rid, "RECURRENCE-ID")) if rid is not None else str(start)
            occurrence, warning = _occurrence(uid, event, start, rid_text, line, floating)
            found.append(occurrence)
            if warning:
                warnings.append(warning)
    except (_EventProblem, _OverLimit):
        raise
    except (MemoryError, RecursionError) as exc:
        raise _OverLimit(
            f"expanding its recurrence ran out of {type(exc).__name__[:-5].lower()}"
        ) from None
    except Exception as exc:
        raise _EventProblem(
            f"its recurrence cannot be expanded ({type(exc).__name__}: "
            f"{printable(str(exc), 120)}); skipped"
        ) from None
    # A RANGE=THISANDFUTURE override gives every later occurrence its RECURRENCE-ID: those
    # are told apart by their own start.
    counts: dict[str | None, int] = defaultdict(int)
    for occurrence in found:
        counts[occurrence.recurrence_id] += 1
    found = [
        replace(o, recurrence_id=f"{o.recurrence_id}+{o.poll_date}")
        if counts[o.recurrence_id] > 1
        else o
        for o in found
    ]
    return found, warnings


def _rules(event: Any, name: str) -> list[str]:
    value = event.get(name)
    values = value if isinstance(value, list) else [value] if value is not None else []
    return [v.to_ical().decode("utf-8", "replace") for v in values]


def _bound_series(
    group: list[Any], since: date, until: date, limits: Limits
) -> tuple[int, list[str]]:
    """An upper bound on the occurrences of one recurring event in the window, from its
    rules alone (purdah.ical.bounds), before anything is expanded. A rule that gives no
    date in the window is removed from the event, so that the expander never walks it
    (a rule on 30 February would have it walk to the year 9999)."""
    first, last = since - timedelta(days=1), until + timedelta(days=1)
    total, warnings = 0, []
    for event in group:
        if event.get("EXRULE") is not None:
            warnings.append("EXRULE (withdrawn from iCalendar by RFC 5545) is not applied")
        rules = _rules(event, "RRULE")
        if not rules:
            total += 1 + sum(len(getattr(r, "dts", [r])) for r in _as_list(event.get("RDATE")))
            continue
        start = event.get("DTSTART")
        if start is None:
            raise _EventProblem("it has no DTSTART, so it has no date; skipped")
        value = _dt(start)
        start_day = value.date() if isinstance(value, datetime) else value
        kept, counts, ended = [], [], True
        for value, text in zip(_as_list(event.get("RRULE")), rules, strict=True):
            try:
                rule = parse_rule(text)
            except RuleRefused as exc:
                raise _OverLimit(str(exc)) from None
            except RuleError as exc:
                raise _EventProblem(f"its RRULE cannot be read ({exc}); skipped") from None
            count = count_between(rule, start_day, first, last)
            counts.append(count)
            ended = ended and rule.until is not None and rule.until < first
            if counts[-1]:
                kept.append(value)
        if len(kept) < len(rules):
            # A rule with no date in the window is dropped before expanding: dateutil would
            # walk it, date by date, to the year 9999 looking for one.
            del event["RRULE"]
            for value in kept:
                event.add("RRULE", value)
            if start_day <= last and not ended:
                warnings.append(
                    f"its RRULE gives no date between {since} and {until} (a day that does "
                    "not exist, such as 30 February?), so it was not expanded"
                )
        rdates = sum(len(getattr(r, "dts", [r])) for r in _as_list(event.get("RDATE")))
        total += sum(counts) + rdates + 1
    return total, warnings


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []
