"""`purdah import`: election calendars into the store, all or nothing.

Phase 1 reads and classifies every source (nothing written); a source that cannot be
read rejects the whole import. Phase 2 applies the plan in one write transaction:
imported polls are keyed by (source, UID#RECURRENCE-ID), so re-importing is
idempotent; a moved event moves its election, STATUS:CANCELLED cancels it, an event
gone from a source that still parses is withdrawn; "Notice of Election" events set the
actual notice date. Windows are recomputed and flags reconciled in the same
transaction. A dry run does all of it and rolls back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from purdah.choices import INACTIVE_STATUSES
from purdah.errors import FeedRejected, NothingImported, PurdahError, SourceShrank
from purdah.ical.classify import Notice, Options, Poll, Skip, classify
from purdah.ical.fetch import fetch, is_url
from purdah.ical.reader import DEFAULT_LIMITS, Limits, Problem, read_calendar
from purdah.ids import Nation, parse_election_id
from purdah.models import election_t
from purdah.polls import check_poll_can_exist
from purdah.queries import among, council_by_slug
from purdah.services.elections import record_feed_notice
from purdah.services.reconcile import ReconcileResult, reconcile_in
from purdah.services.windows import (
    Scope,
    WindowChanges,
    changed_elections,
    election_inputs,
    extra_days,
    recompute_windows,
)
from purdah.store import Store
from purdah.timetable import compute_timetable
from purdah.words import plural

E = election_t.c
INACTIVE = INACTIVE_STATUSES
# A source that had at least this many polls and now has under half of them is treated
# as a failed fetch, not as "most elections were deleted".
SHRINK_FLOOR = 4


@dataclass(frozen=True)
class ImportOptions:
    council: str | None = None
    area: str | None = None
    nation: str | None = None
    type: str | None = None
    every_event: bool = False
    since: date | None = None
    until: date | None = None
    format: str | None = None  # "everyelection", else recognised by content


@dataclass
class Planned:
    uid: str
    election_id: str
    poll_date: date
    type: str
    area: str
    title: str
    status: str  # the election's status after the import
    # new, unchanged, moved, cancelled, reinstated, withdrawn, notice; kept: the clerk's
    # correction (cancel, move) is kept over what the calendar says
    action: str
    source: str


@dataclass
class ImportReport:
    sources: list[str] = field(default_factory=list)
    elections: list[Planned] = field(default_factory=list)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)  # uid, summary, reason
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    windows: WindowChanges | None = None
    reconcile: ReconcileResult | None = None
    dry_run: bool = False
    not_modified: bool = False


@dataclass
class _Read:
    source: str  # how the store remembers it
    label: str  # how messages name it: as the user gave it
    polls: list[Poll]
    notices: list[Notice]
    problems: list[Problem]
    partial: bool = False  # an incremental EveryElection sync: absence is not removal
    withdraw: tuple[str, ...] = ()  # keys the source says were deleted


# Skips that the import's options could have prevented (the classifier's reasons).
_NEEDS_OPTIONS = ("import with --", "nothing in its title says it is a poll")


def _why_nothing(report: ImportReport, options: ImportOptions) -> str:
    """Why an import records nothing, and what to give instead."""
    reasons = [reason for _, _, reason in report.skipped]
    if not reasons:
        return (
            f"{', '.join(report.sources)} has no events between {options.since or 'a year ago'} "
            f"and {options.until or 'ten years ahead'}: nothing was recorded (--since and "
            "--until widen the range)"
        )
    if all("nothing in its title says it is a poll" in r for r in reasons):
        return (
            f"no event says it is a poll ({plural(len(reasons), 'event')} skipped): give --area "
            "and --type, or --every-event if every event in it is a poll; nothing was recorded"
        )
    counts: dict[str, int] = {}
    for reason in reasons:
        counts[reason] = counts.get(reason, 0) + 1
    top = sorted(counts.items(), key=lambda item: -item[1])[:3]
    said = "; ".join(f"{reason} ({n})" for reason, n in top)
    return f"no poll was recorded: {plural(len(reasons), 'event')} skipped: {said}"


def _warn_misplaced(store: Store, reads: list[_Read], council: str, report: ImportReport) -> None:
    """A poll in COUNCIL's calendar whose title names another registered council (a parish
    by-election in the district's calendar) is recorded for COUNCIL, whose area covers the
    other (conservative); say so, and how to record it for the council it names."""
    names = {slug: name for slug, name in store.query("SELECT slug, name FROM council", {})}
    within = {
        slug
        for (slug,) in store.query(
            "SELECT c.slug FROM council c JOIN council_area a ON a.council_id = c.id "
            "WHERE a.area = :council",
            {"council": council},
        )
    }
    own = names.get(council, "").lower()
    for read in reads:
        for poll in read.polls:
            if poll.area != council:
                continue
            title = poll.occurrence.summary.lower()
            named = sorted(
                slug
                for slug, name in names.items()
                if slug != council and name.lower() in title and name.lower() not in own
            )
            for slug in named:
                placed = poll.election_id.replace(f".{council}.", f".{slug}.", 1)
                covers = (
                    f"whose area covers {slug} and more (conservative): to restrict only {slug}"
                    if slug in within
                    else f"which does not cover {slug} (it is not within {council}): {slug} "
                    "is NOT restricted by it; to restrict it"
                )
                report.warnings.append(
                    f"{read.label}: event {poll.occurrence.uid!r} ({poll.occurrence.summary!r}) "
                    f"names {names[slug]} ({slug}) but is recorded for {council}, {covers}, "
                    f"import {slug}'s own calendar with --council {slug}, or remove the event "
                    f"here and record 'purdah election add {placed}'"
                )


class _DryRun(Exception):
    """Raised inside the write transaction to roll a dry run back."""


def source_name(location: str) -> str:
    """How a source is remembered: a URL as given, a file by its absolute path."""
    return location if is_url(location) else str(Path(location).expanduser().resolve())


def import_sources(
    store: Store,
    locations: list[str],
    options: ImportOptions,
    *,
    dry_run: bool = False,
    force: bool = False,
    names: list[str] | None = None,
    data: list[bytes] | None = None,
    limits: Limits = DEFAULT_LIMITS,
    partial: bool = False,
    require_records: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Import every source in `locations` (files or URLs), or none of them.

    `names` overrides how each source is remembered (feeds use `feed:NAME`); `data`
    gives bytes already fetched (feeds fetch with a conditional GET themselves).
    With `require_records` (the `import` command), an import whose sources hold no poll
    and no notice is refused with the reason (NothingImported) instead of recording
    nothing; a source that shrank because events went unclassified says so. `progress`
    is told (steps done, steps in all) as each source is read and when the write is done.
    The import window (--since/--until defaults) is read from the clock as it starts;
    the writes are decided at and stamped with the instant read once the lock is held.
    """
    today = store.clock().date()
    since = options.since or today - timedelta(days=365)
    until = options.until or today + timedelta(days=3652)
    if until < since:
        raise PurdahError(f"--until {until} is before --since {since}")
    report = ImportReport(dry_run=dry_run)
    options = checked_options(store, options)
    council_nation = _council_nation(store, options.council)
    classify_options = Options(
        options.council,
        council_nation,
        options.area,
        options.nation,
        options.type,
        options.every_event,
    )
    reads = []
    unplaced: dict[str, int] = {}  # source -> events skipped for want of options
    for index, location in enumerate(locations):
        name = names[index] if names else source_name(location)
        raw = data[index] if data else fetch(location, max_bytes=limits.max_bytes).data
        assert raw is not None
        from purdah.sources import everyelection

        if options.format == everyelection.FORMAT or everyelection.looks_like(raw):
            read = _read_everyelection(
                store, raw, location, name, limits, report, partial, options, (since, until)
            )
            reads.append(read)
            report.sources.append(name)
            if progress is not None:
                progress(index + 1, len(locations) + 1)
            continue
        result = read_calendar(raw, location, since, until, limits)
        polls, notices = [], []
        skipped: dict[tuple[str, str], list[Skip]] = {}
        for occurrence in result.occurrences:
            verdict = classify(occurrence, classify_options)
            if isinstance(verdict, Poll):
                polls.append(verdict)
            elif isinstance(verdict, Notice):
                notices.append(verdict)
            else:  # one line per event and reason, however often a series recurs
                skipped.setdefault((occurrence.uid, verdict.reason), []).append(verdict)
        for (uid, reason), skips in skipped.items():
            count = f" ({len(skips)} occurrences)" if len(skips) > 1 else ""
            report.skipped.append((uid, skips[0].occurrence.summary, reason + count))
        unplaced[name] = sum(
            1 for _, reason in skipped if any(word in reason for word in _NEEDS_OPTIONS)
        )
        reads.append(_Read(name, location, polls, notices, result.problems))
        if progress is not None:
            progress(index + 1, len(locations) + 1)
        report.sources.append(name)
        report.warnings += [f"{location}: {p}" for p in result.problems]
    if options.council and not options.area:
        _warn_misplaced(store, reads, options.council, report)
    # (An incremental sync that brings no change is not "nothing recorded".)
    if require_records and not any(
        read.polls or read.notices or read.withdraw or read.partial for read in reads
    ):
        raise NothingImported(_why_nothing(report, options))
    try:
        with store.write() as (conn, now):
            touched: set[int] = set()  # elections whose windows may change
            for read in reads:
                try:
                    before = election_inputs(conn, E.source == read.source)
                    _apply(conn, read, report, now, force, touched)
                    after = election_inputs(conn, E.source == read.source)
                    touched |= changed_elections(before, after)
                except SourceShrank as exc:
                    if not unplaced.get(read.source):
                        raise
                    example = next(
                        r for _, _, r in report.skipped if any(w in r for w in _NEEDS_OPTIONS)
                    )
                    raise SourceShrank(
                        f"{read.label}: it had {plural(exc.before, 'poll')} and now has "
                        f"{exc.present}, because {plural(unplaced[read.source], 'event')} in "
                        f"it could not be placed with the options given (e.g. {example!r}): "
                        "import it with the options of its last import (--council, --area, "
                        "--type, --every-event); nothing was changed",
                        exc.before,
                        exc.present,
                    ) from None
            report.windows = recompute_windows(conn, now, Scope.of(elections=touched))
            report.reconcile = reconcile_in(conn, now, actor="import")
            if progress is not None:
                progress(len(locations) + 1, len(locations) + 1)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return report


def _read_everyelection(
    store: Store,
    raw: bytes,
    location: str,
    name: str,
    limits: Limits,
    report: ImportReport,
    partial: bool,
    options: ImportOptions,
    span: tuple[date, date],
) -> _Read:
    """EveryElection JSON (purdah.sources.everyelection) as polls, placed without --area;
    polls outside --since/--until are skipped with the reason, as for calendars."""
    from purdah.ical.reader import Occurrence
    from purdah.services.areas import election_placer
    from purdah.sources import everyelection

    def get(url: str) -> bytes:
        data = fetch(url, max_bytes=limits.max_bytes).data
        assert data is not None
        return data

    try:
        elections, notes = everyelection.fetch_pages(raw, location, get)
    except everyelection.EveryElectionError as exc:
        raise FeedRejected(str(exc)) from None
    with store.read() as conn:
        plan = everyelection.plan(elections, election_placer(conn))
    ignored = [
        name
        for name, value in (
            ("--council", options.council),
            ("--area", options.area),
            ("--type", options.type),
            ("--every-event", options.every_event),
        )
        if value
    ]
    if ignored:
        report.warnings.append(
            f"{location}: EveryElection places and types each election itself; "
            f"{', '.join(ignored)} ignored"
        )
    polls = []
    for ee in plan.polls:
        if ee.deleted:
            continue
        if not span[0] <= ee.poll_date <= span[1]:
            report.skipped.append(
                (ee.key, ee.title, f"poll {ee.poll_date} is outside {span[0]} to {span[1]}")
            )
            continue
        extra = {}
        if ee.notice_deadline:
            extra["X-EE-NOTICE-DEADLINE"] = ee.notice_deadline.isoformat()
        if ee.original_date:
            extra["X-PURDAH-ORIGINAL-DATE"] = ee.original_date.isoformat()
        event = Occurrence(
            ee.key, None, ee.title, "", (), "", extra, ee.poll_date, ee.cancelled, 0, None
        )
        polls.append(Poll(event, ee.election_id, ee.type, ee.area, ee.nation, ee.notes))
    report.skipped += plan.skipped
    report.warnings += [f"{location}: {note}" for note in notes]
    deleted = tuple(ee.key for ee in plan.polls if ee.deleted)
    partial = partial or bool(notes)
    return _Read(name, location, polls, [], [], partial=partial, withdraw=deleted)


def checked_options(store: Store, options: ImportOptions) -> ImportOptions:
    """--area must name a known area (purdah.services.areas); aliases become keys."""
    if not options.area:
        return options

    from purdah.services.area_check import check_area

    with store.read() as conn:
        return replace(options, area=check_area(conn, options.area, "--area"))


def _council_nation(store: Store, council: str | None) -> str | None:
    if not council:
        return None
    return council_by_slug(store, council).nation


def _apply(
    conn: Connection,
    read: _Read,
    report: ImportReport,
    now: datetime,
    force: bool,
    touched: set[int],
) -> None:
    """Apply one source's polls and notices; the ids of elections of other sources whose
    notice date it may set are added to `touched` (its own are found by the caller)."""
    existing = {
        row.source_uid: row
        for row in conn.execute(sa.select(election_t).where(E.source == read.source))
    }
    polls = [_placed(conn, read, poll, report) for poll in read.polls]
    read = replace(read, polls=polls)
    _adopt(conn, read, existing, report, now)
    active_before = sum(1 for row in existing.values() if row.status not in INACTIVE)
    # Polls present in the source, cancelled ones included: a cancelled event that is still
    # there shows the download is whole.
    present = len({p.occurrence.key for p in read.polls})
    if (
        active_before
        and not read.partial
        and not force
        and (not present or (active_before >= SHRINK_FLOOR and present < active_before / 2))
    ):
        raise SourceShrank(
            f"{read.source}: it had {plural(active_before, 'poll')} and now has {present}; that "
            "looks "
            "like a failed or partial download, so the last good data is kept. If the polls "
            "really were removed, import again with --force",
            active_before,
            present,
        )
    extra = extra_days(conn)
    seen: set[str] = set()
    for poll in read.polls:
        key = poll.occurrence.key
        if key in seen:
            continue
        seen.add(key)
        planned = _apply_poll(conn, read, poll, existing.get(key), extra, report, now)
        if planned is not None:
            report.elections.append(planned)
    for key, row in existing.items():
        gone = key in read.withdraw or (not read.partial and key not in seen)
        if gone and row.status not in INACTIVE:
            conn.execute(
                sa.update(election_t)
                .where(E.id == row.id)
                .values(status="withdrawn", updated_at=now)
            )
            report.warnings.append(
                f"{read.label}: {row.election_id} ({row.source_uid}) is no longer in the source; "
                "withdrawn"
            )
            report.elections.append(
                Planned(
                    row.source_uid,
                    row.election_id,
                    row.poll_date,
                    row.type,
                    row.area,
                    row.title,
                    "withdrawn",
                    "withdrawn",
                    read.source,
                )
            )
    for notice in read.notices:
        _apply_notice(conn, read.source, notice, report, now, touched)


def _nation_for(conn: Connection, poll: Poll) -> str | None:
    if poll.nation:
        return poll.nation
    from purdah.services.areas import nation_of

    return nation_of(conn, poll.area)


def _adopt(
    conn: Connection, read: _Read, existing: dict[str, Any], report: ImportReport, now: datetime
) -> None:
    """Events already imported from another file (a fresh download saved as
    `ashfield (1).ics`): RFC 5545 UIDs are globally unique, so an event whose UID was
    imported from another file for the same area is the same event. Its row moves to this
    source and is updated by UID, not recorded twice. Scope: the area the poll is held
    in (two councils' calendars that both number their events 1, 2, 3 stay apart); feeds
    and URLs are not adopted from (they are refreshed by their own name)."""
    missing = {p.occurrence.key: p for p in read.polls if p.occurrence.key not in existing}
    if not missing or is_url(read.source) or read.source.startswith("feed:"):
        return
    rows = conn.execute(
        sa.select(election_t).where(
            among(E.source_uid, missing),
            E.source != read.source,
            ~E.source.like("feed:%"),
            ~E.source.like("http%"),
            E.source != "manual",
        )
    ).all()
    for row in rows:
        poll = missing.get(row.source_uid)
        if poll is None or row.area != poll.area or row.source_uid in existing:
            continue
        conn.execute(
            sa.update(election_t).where(E.id == row.id).values(source=read.source, updated_at=now)
        )
        existing[row.source_uid] = conn.execute(sa.select(election_t).where(E.id == row.id)).one()
        report.warnings.append(
            f"{read.label}: event {row.source_uid!r} ({row.election_id}) was imported from "
            f"{row.source}; it is the same event (same UID and area), updated from this file"
        )


def _placed(conn: Connection, read: _Read, poll: Poll, report: ImportReport) -> Poll:
    """The poll with its area as a known key; a warning where the area is not known."""

    from purdah.services.area_check import suggest_for
    from purdah.services.areas import place_election_area

    try:
        parsed = parse_election_id(poll.election_id)
        key = place_election_area(conn, poll.area, parsed.type, parsed.by_election)
    except PurdahError:
        close = suggest_for(conn, poll.area)
        hint = f" (did you mean {' or '.join(close)}?)" if close else ""
        report.warnings.append(
            f"{read.label}: event {poll.occurrence.uid!r}: area {poll.area!r} is neither "
            f"registered nor in the area register{hint}: no council is covered by "
            f"{poll.election_id} until one is registered within it"
        )
        return poll
    return poll if key == poll.area else replace(poll, area=key)


def _apply_poll(
    conn: Connection,
    read: _Read,
    poll: Poll,
    row: Any,
    extra: dict[date, str],
    report: ImportReport,
    now: datetime,
) -> Planned | None:
    event = poll.occurrence
    title = event.summary
    source = read.source
    report.warnings += [f"{read.label}: event {event.uid!r}: {note}" for note in poll.notes]
    nation = _nation_for(conn, poll) if poll.type in ("local", "ref") else poll.nation
    try:
        parsed = parse_election_id(poll.election_id)
        kind = getattr(row, "referendum", None) if row is not None else None
        tt = compute_timetable(parsed, Nation(nation) if nation else None, extra, kind)
        check_poll_can_exist(tt)  # a poll that cannot be held is skipped, with the law
    except PurdahError as exc:
        reason = str(exc)
        if not reason.startswith(f"{poll.election_id}:"):
            reason = f"{poll.election_id}: {reason}"
        report.skipped.append((event.key, event.summary, reason))
        return None
    report.warnings += [f"{read.label}: event {event.uid!r}: {w}" for w in tt.warnings]
    stored_nation = None if tt.nation is Nation.UK else tt.nation.value
    deadline = event.extra.get("X-EE-NOTICE-DEADLINE")
    if deadline and tt.notice_latest and deadline != tt.notice_latest.isoformat():
        report.warnings.append(
            f"{read.label}: {poll.election_id}: EveryElection's notice of election deadline "
            f"is {deadline}, purdah's statutory latest date is {tt.notice_latest}; purdah's "
            "date is used: check the timetable"
        )
    original = event.extra.get("X-PURDAH-ORIGINAL-DATE")

    def planned(status: str, action: str, election_id: str) -> Planned:
        return Planned(
            event.key,
            election_id,
            event.poll_date,
            poll.type,
            poll.area,
            title,
            status,
            action,
            source,
        )

    if row is None:
        if event.cancelled:
            report.skipped.append((event.key, event.summary, "cancelled before it was imported"))
            return None
        taken = conn.execute(sa.select(E.source).where(E.election_id == poll.election_id)).scalar()
        if taken is not None:
            report.skipped.append(
                (event.key, event.summary, f"{poll.election_id} is already recorded from {taken}")
            )
            return None
        conn.execute(
            sa.insert(election_t).values(
                election_id=poll.election_id,
                type=poll.type,
                area=poll.area,
                nation=stored_nation,
                poll_date=event.poll_date,
                original_poll_date=date.fromisoformat(original) if original else None,
                status="moved" if original else "scheduled",
                source=source,
                source_uid=event.key,
                title=title,
                created_at=now,
                updated_at=now,
            )
        )
        return planned("moved" if original else "scheduled", "new", poll.election_id)
    held = getattr(row, "clerk_held", None)
    if held == "moved" and row.poll_date != event.poll_date and not event.cancelled:
        # The clerk's move holds: the calendar has not caught up with it (or disagrees).
        report.warnings.append(
            f"{read.label}: {row.election_id} ({event.key}): the calendar says "
            f"{event.poll_date}, but the clerk moved it to {row.poll_date}: the clerk's date "
            "is kept (cancel or move it again to change it)"
        )
        return planned(row.status, "kept", row.election_id)
    if held == "cancelled" and row.status == "cancelled" and not event.cancelled:
        report.warnings.append(
            f"{read.label}: {row.election_id} ({event.key}): the calendar still has this "
            "poll, but the clerk cancelled it: it stays cancelled"
        )
        return planned("cancelled", "kept", row.election_id)
    if event.cancelled:
        if row.status == "cancelled":
            return planned("cancelled", "unchanged", row.election_id)
        conn.execute(
            sa.update(election_t)
            .where(E.id == row.id)
            .values(status="cancelled", cancelled_at=now, updated_at=now)
        )
        return planned("cancelled", "cancelled", row.election_id)
    if row.poll_date != event.poll_date:
        values: dict[str, Any] = {
            "poll_date": event.poll_date,
            "status": "moved",
            "title": title,
            "updated_at": now,
            "original_poll_date": row.original_poll_date or row.poll_date,
        }
        free = conn.execute(sa.select(E.id).where(E.election_id == poll.election_id)).scalar()
        if free is None:
            values["election_id"] = poll.election_id
        conn.execute(sa.update(election_t).where(E.id == row.id).values(**values))
        return planned("moved", "moved", values.get("election_id", row.election_id))
    if row.status in INACTIVE:
        conn.execute(
            sa.update(election_t)
            .where(E.id == row.id)
            .values(status="scheduled", cancelled_at=None, title=title, updated_at=now)
        )
        return planned("scheduled", "reinstated", row.election_id)
    if row.title != title:
        conn.execute(sa.update(election_t).where(E.id == row.id).values(title=title))
    return planned(row.status, "unchanged", row.election_id)


def _apply_notice(
    conn: Connection,
    source: str,
    notice: Notice,
    report: ImportReport,
    now: datetime,
    touched: set[int],
) -> None:
    day = notice.occurrence.poll_date  # the notice event's own date
    query = sa.select(election_t).where(E.poll_date > day, E.status.not_in(INACTIVE))
    if notice.election_id:
        query = query.where(E.election_id == notice.election_id)
    elif notice.area:
        query = query.where(E.area == notice.area)
        if notice.type:
            query = query.where(E.type == notice.type)
    else:
        report.skipped.append(
            (
                notice.occurrence.key,
                notice.occurrence.summary,
                "a notice of election with no area: import with --area or --council",
            )
        )
        return
    match = conn.execute(query.order_by(E.poll_date).limit(1)).first()
    if match is None or (match.poll_date - day).days > 60:
        report.skipped.append(
            (
                notice.occurrence.key,
                notice.occurrence.summary,
                "no poll within 60 days after this notice of election",
            )
        )
        return
    touched.add(match.id)
    kept = record_feed_notice(conn, match, day, source, now)
    if kept:
        report.warnings.append(f"{source}: event {notice.occurrence.uid!r}: {kept}")
        return
    report.elections.append(
        Planned(
            notice.occurrence.key,
            match.election_id,
            match.poll_date,
            match.type,
            match.area,
            notice.occurrence.summary,
            match.status,
            "notice",
            source,
        )
    )
