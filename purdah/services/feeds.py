"""Registered election calendars (`purdah feed ...`), refreshed by `purdah run`.

A refresh fetches with a conditional GET (ETag / Last-Modified) and imports through
the same all-or-nothing importer, remembered as source `feed:NAME`. A failure (network,
HTTP status, unreadable or drastically shrunken data) keeps the last good data, is
recorded on the feed (`feed list` shows it) and retried with back-off: 5 minutes,
doubling, never longer than the feed's interval.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from purdah.errors import InputError, NotFound, PurdahError
from purdah.ical.fetch import fetch, is_url
from purdah.ical.reader import FeedRejected
from purdah.models import election_t, feed_t
from purdah.services.importer import ImportOptions, ImportReport, import_sources
from purdah.store import Store

F = feed_t.c
DEFAULT_EVERY = timedelta(hours=6)
FIRST_RETRY = timedelta(minutes=5)
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_ISO = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


@dataclass(frozen=True)
class FeedRow:
    name: str
    location: str
    every: timedelta
    options: dict[str, Any]
    last_checked_at: datetime | None
    last_ok_at: datetime | None
    last_error: str | None
    failures: int
    next_due_at: datetime | None
    polls: int


@dataclass(frozen=True)
class RefreshResult:
    name: str
    ok: bool
    not_modified: bool = False
    report: ImportReport | None = None
    error: str | None = None
    next_due_at: datetime | None = None


def parse_duration(text: str) -> timedelta:
    """`30m`, `6h`, `1d`, or ISO 8601 such as `PT6H`."""
    value = text.strip()
    match = _DURATION.match(value.lower())
    if match:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
        duration = timedelta(**{unit: int(match.group(1))})
    else:
        iso = _ISO.match(value.upper())
        if not iso or not any(iso.groups()):
            raise InputError(f"--every {text!r} is not a duration: write e.g. 30m, 6h, 1d or PT6H")
        days, hours, minutes, seconds = (int(g or 0) for g in iso.groups())
        duration = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    if duration < timedelta(minutes=5):
        raise InputError(f"--every {text!r} is shorter than 5 minutes: be kind to the server")
    return duration


def _name_for(location: str) -> str:
    stem = (
        re.sub(r"^(https?|webcal)://", "", location.lower())
        if is_url(location)
        else (Path(location).stem.lower())
    )
    slug = re.sub(r"[^a-z0-9]+", "-", stem).strip("-")
    return slug[:60] or "feed"


def _options_json(options: ImportOptions) -> str:
    data = {
        k: (v.isoformat() if hasattr(v, "isoformat") else v)
        for k, v in asdict(options).items()
        if v not in (None, False)
    }
    return json.dumps(data, sort_keys=True)


def _options_of(text: str) -> ImportOptions:
    from datetime import date

    data = json.loads(text or "{}")
    for key in ("since", "until"):
        if key in data:
            data[key] = date.fromisoformat(data[key])
    return ImportOptions(**data)


def add_feed(
    store: Store,
    location: str,
    *,
    name: str | None,
    options: ImportOptions,
    every: timedelta = DEFAULT_EVERY,
    now: datetime,
) -> RefreshResult:
    """Register a feed and fetch it once at once (a failure keeps it registered)."""
    if not is_url(location):
        path = Path(location).expanduser()
        if not path.is_file():
            raise InputError(f"{location}: no such file (a feed is an http(s) URL or a file)")
        location = str(path.resolve())
    from purdah.services.importer import checked_options

    options = checked_options(store, options)
    feed_name = (name or _name_for(location)).strip().lower()
    if not re.match(r"^[a-z0-9][a-z0-9-]*$", feed_name):
        raise InputError(f"feed name {feed_name!r}: use lower-case letters, digits and hyphens")
    with store.write() as conn:
        if conn.execute(sa.select(F.id).where(F.name == feed_name)).first():
            raise InputError(f"a feed called {feed_name!r} exists: choose another --name")
        conn.execute(
            sa.insert(feed_t).values(
                name=feed_name,
                location=location,
                options=_options_json(options),
                every_seconds=int(every.total_seconds()),
                failures=0,
                next_due_at=now,
                created_at=now,
            )
        )
    return refresh_feed(store, feed_name, now=now)


def list_feeds(store: Store) -> list[FeedRow]:
    with store.read() as conn:
        polls: dict[str, int] = dict(
            conn.execute(
                sa.select(election_t.c.source, sa.func.count())
                .where(
                    election_t.c.source.like("feed:%"),
                    election_t.c.status.not_in(("cancelled", "withdrawn")),
                )
                .group_by(election_t.c.source)
            ).all()
        )
        return [
            FeedRow(
                r.name,
                r.location,
                timedelta(seconds=r.every_seconds),
                json.loads(r.options or "{}"),
                r.last_checked_at,
                r.last_ok_at,
                r.last_error,
                r.failures,
                r.next_due_at,
                polls.get(f"feed:{r.name}", 0),
            )
            for r in conn.execute(sa.select(feed_t).order_by(F.name))
        ]


def _feed(store: Store, name: str) -> Any:
    with store.read() as conn:
        row = conn.execute(sa.select(feed_t).where(F.name == name.strip().lower())).first()
    if row is None:
        raise NotFound(f"no feed {name!r}: see 'purdah feed list'")
    return row


def _is_everyelection_api(location: str, options: ImportOptions) -> bool:
    return is_url(location) and (
        options.format == "everyelection" or "/api/elections" in location.lower()
    )


def refresh_feed(store: Store, name: str, *, now: datetime, force: bool = False) -> RefreshResult:
    """Fetch and import one feed; on failure record it and keep the last good data."""
    feed = _feed(store, name)
    every = timedelta(seconds=feed.every_seconds)
    options = _options_of(feed.options)
    location, partial = feed.location, False
    if not force and feed.last_ok_at is not None and _is_everyelection_api(feed.location, options):
        from purdah.sources.everyelection import since_url

        # Incremental sync: only what changed since the last good fetch (deleted ones too).
        location, partial = since_url(feed.location, feed.last_ok_at), True
    try:
        fetched = fetch(
            location,
            etag=None if force else feed.etag,
            last_modified=None if force else feed.last_modified,
        )
        if fetched.data is None:
            _record(store, feed, now, ok=True, next_due=now + every)
            return RefreshResult(feed.name, True, not_modified=True, next_due_at=now + every)
        report = import_sources(
            store,
            [location],
            options,
            now=now,
            force=force,
            names=[f"feed:{feed.name}"],
            data=[fetched.data],
            partial=partial,
        )
    except (FeedRejected, InputError, NotFound) as exc:
        failures = feed.failures + 1
        retry = min(FIRST_RETRY * 2 ** (failures - 1), every)
        _record(store, feed, now, ok=False, next_due=now + retry, error=str(exc), failures=failures)
        return RefreshResult(feed.name, False, error=str(exc), next_due_at=now + retry)
    _record(
        store,
        feed,
        now,
        ok=True,
        next_due=now + every,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
    )
    return RefreshResult(feed.name, True, report=report, next_due_at=now + every)


def _record(
    store: Store,
    feed: Any,
    now: datetime,
    *,
    ok: bool,
    next_due: datetime,
    error: str | None = None,
    failures: int = 0,
    etag: str | None = None,
    last_modified: str | None = None,
) -> None:
    values: dict[str, Any] = {
        "last_checked_at": now,
        "next_due_at": next_due,
        "failures": failures,
        "last_error": error,
    }
    if ok:
        values["last_ok_at"] = now
        if etag or last_modified:
            values.update(etag=etag, last_modified=last_modified)
    with store.write() as conn:
        conn.execute(sa.update(feed_t).where(F.id == feed.id).values(**values))


def refresh_due(store: Store, *, now: datetime) -> list[RefreshResult]:
    """Refresh every feed whose time has come (the scheduler's job)."""
    with store.read() as conn:
        due = (
            conn.execute(
                sa.select(F.name)
                .where(sa.or_(F.next_due_at.is_(None), F.next_due_at <= now))
                .order_by(F.next_due_at)
            )
            .scalars()
            .all()
        )
    results = []
    for name in due:
        try:
            results.append(refresh_feed(store, name, now=now))
        except PurdahError as exc:  # one feed's trouble must not stop the others
            results.append(RefreshResult(name, False, error=str(exc)))
    return results


def remove_feed(store: Store, name: str, *, withdraw: bool, now: datetime) -> int:
    """Stop refreshing a feed. Its polls stay (conservative) unless `withdraw`; returns how
    many were withdrawn."""
    feed = _feed(store, name)
    withdrawn = 0
    with store.write() as conn:
        conn.execute(sa.delete(feed_t).where(F.id == feed.id))
        if withdraw:
            withdrawn = conn.execute(
                sa.update(election_t)
                .where(
                    election_t.c.source == f"feed:{feed.name}",
                    election_t.c.status.not_in(("cancelled", "withdrawn")),
                )
                .values(status="withdrawn", updated_at=now)
            ).rowcount
            from purdah.services.elections import refresh_in

            refresh_in(conn, now)
    return int(withdrawn)
