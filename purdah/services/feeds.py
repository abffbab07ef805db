"""Registered election calendars (`purdah feed ...`), refreshed by `purdah run`.

A refresh fetches with a conditional GET (ETag / Last-Modified) and imports through
the same all-or-nothing importer, remembered as source `feed:NAME`. A failure (network,
HTTP status, unreadable or drastically shrunken data) keeps the last good data, is
recorded on the feed (`feed list` shows it) and retried with back-off: 5 minutes,
doubling, never longer than the feed's interval. Each feed is fetched, imported and recorded
on its own: whatever goes wrong with one (a hostile server, content the store cannot hold)
is that feed's recorded failure and never stops the others. A fetch has a total deadline.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from purdah.choices import INACTIVE_STATUSES, ElectionStatus
from purdah.errors import InputError, NotFound, PurdahError
from purdah.ical.fetch import DEADLINE_SECONDS, FetchCancelled, fetch, is_url
from purdah.models import election_t, feed_t
from purdah.queries import among
from purdah.services.importer import ImportOptions, ImportReport, import_sources
from purdah.store import Store

F = feed_t.c
log = logging.getLogger("purdah.feeds")
DEFAULT_EVERY = timedelta(hours=6)
MIN_EVERY = timedelta(minutes=5)  # be kind to the server
MAX_EVERY = timedelta(days=7)  # a feed checked less often than weekly is not being watched
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
    days = hours = minutes = seconds = 0
    if not match:
        iso = _ISO.match(value.upper())
        if not iso or not any(iso.groups()):
            raise InputError(f"--every {text!r} is not a duration: write e.g. 30m, 6h, 1d or PT6H")
        days, hours, minutes, seconds = (int(g or 0) for g in iso.groups())
    try:
        if match:
            unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
            duration = timedelta(**{unit: int(match.group(1))})
        else:
            duration = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    except OverflowError:
        duration = MAX_EVERY + timedelta(seconds=1)
    check_every(duration, text)
    return duration


def check_every(every: timedelta, text: str | None = None) -> None:
    """A feed's interval must lie in [MIN_EVERY, MAX_EVERY]; checked before anything is
    written."""
    shown = repr(text) if text is not None else str(every)
    if every < MIN_EVERY:
        raise InputError(f"--every {shown} is shorter than 5 minutes: be kind to the server")
    if every > MAX_EVERY:
        raise InputError(
            f"--every {shown} is longer than 7 days: a feed must be checked at least weekly "
            "(write e.g. 6h, 1d or 7d)"
        )


def _every_of(feed: Any) -> timedelta:
    """A stored interval, clamped into bounds (rows written before the bounds existed)."""
    return min(max(timedelta(seconds=min(feed.every_seconds, 10**9)), MIN_EVERY), MAX_EVERY)


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
    progress: Callable[[int, int], None] | None = None,
) -> RefreshResult:
    """Register a feed and fetch it once at once (a failure keeps it registered);
    `progress` as for refresh_feed."""
    check_every(every)
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
    with store.write() as (conn, now):
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
    return refresh_feed(store, feed_name, progress=progress)


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


def refresh_feed(
    store: Store,
    name: str,
    *,
    force: bool = False,
    timeout: float = DEADLINE_SECONDS,
    cancel: threading.Event | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RefreshResult:
    """Fetch and import one feed; on failure record it and keep the last good data.

    Any failure of this feed's fetch or import (not only the expected ones: a server that
    breaks the protocol, content the store refuses) is recorded on the feed with back-off.
    A fetch abandoned because the process is stopping (`cancel`) records nothing.
    `progress` is told (steps done, REFRESH_STEPS) as the feed is fetched, read and
    written (a feed that did not change, or failed, jumps to the end)."""
    tell = progress or (lambda _done, _total: None)
    result = _refresh_feed(store, name, force, timeout, cancel, tell)
    tell(REFRESH_STEPS, REFRESH_STEPS)
    return result


REFRESH_STEPS = 3  # fetched, read, written


def _refresh_feed(
    store: Store,
    name: str,
    force: bool,
    timeout: float,
    cancel: threading.Event | None,
    tell: Callable[[int, int], None],
) -> RefreshResult:
    feed = _feed(store, name)
    every = _every_of(feed)
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
            timeout=timeout,
            cancel=cancel,
        )
        tell(1, REFRESH_STEPS)
        if fetched.data is None:
            due = _record(store, feed, ok=True, wait=every)
            return RefreshResult(feed.name, True, not_modified=True, next_due_at=due)
        report = import_sources(
            store,
            [location],
            options,
            force=force,
            names=[f"feed:{feed.name}"],
            data=[fetched.data],
            partial=partial,
            # The import's own steps (the source read, the write) after the fetch.
            progress=lambda done, total: tell(1 + 2 * done // total, REFRESH_STEPS),
        )
    except FetchCancelled:
        raise
    except Exception as exc:
        expected = isinstance(exc, PurdahError)  # a message written for the user
        error = str(exc) if expected else f"{feed.name}: cannot be imported: {_describe(exc)}"
        if not expected:
            log.warning("feed %s: unexpected failure", feed.name, exc_info=True)
        failures = feed.failures + 1
        retry = min(FIRST_RETRY * 2 ** min(failures - 1, 20), every)
        due = _record(store, feed, ok=False, wait=retry, error=error, failures=failures)
        return RefreshResult(feed.name, False, error=error, next_due_at=due)
    due = _record(
        store,
        feed,
        ok=True,
        wait=every,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
    )
    return RefreshResult(feed.name, True, report=report, next_due_at=due)


def _offset(
    progress: Callable[[int, int], None], base: int, total: int
) -> Callable[[int, int], None]:
    """One feed's steps as steps of the whole run, `base` of `total` done before it."""
    return lambda done, _steps: progress(base + done, total)


def _describe(exc: BaseException) -> str:
    """One line for an unexpected exception: the driver's message where there is one."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip().splitlines()
    return f"{type(orig or exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _record(
    store: Store,
    feed: Any,
    *,
    ok: bool,
    wait: timedelta,
    error: str | None = None,
    failures: int = 0,
    etag: str | None = None,
    last_modified: str | None = None,
) -> datetime:
    """Record a refresh at the write's instant; the feed is next due `wait` after it."""
    with store.write() as (conn, now):
        values: dict[str, Any] = {
            "last_checked_at": now,
            "next_due_at": now + wait,
            "failures": failures,
            "last_error": error.replace("\x00", "\\x00") if error else None,
        }
        if ok:
            values["last_ok_at"] = now
            if etag or last_modified:
                values.update(etag=etag, last_modified=last_modified)
        conn.execute(sa.update(feed_t).where(F.id == feed.id).values(**values))
    return now + wait


def refresh_due(
    store: Store,
    *,
    timeout: float = DEADLINE_SECONDS,
    cancel: threading.Event | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[RefreshResult]:
    """Refresh every feed whose time has come (the scheduler's job), each on its own: one
    feed's failure is recorded on it and the others are still refreshed. Stops early, with
    nothing recorded for the rest, once `cancel` is set. `progress` is told (steps done,
    steps in all): REFRESH_STEPS for each feed due."""
    now = store.clock()
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
    results: list[RefreshResult] = []
    for name in due:
        if cancel is not None and cancel.is_set():
            break
        try:
            base = len(results) * REFRESH_STEPS
            total = len(due) * REFRESH_STEPS
            step = None if progress is None else _offset(progress, base, total)
            results.append(refresh_feed(store, name, timeout=timeout, cancel=cancel, progress=step))
        except FetchCancelled:
            break
        except Exception as exc:  # e.g. the store itself failed: one feed must not stop the rest
            log.warning("feed %s: refresh failed", name, exc_info=True)
            results.append(RefreshResult(name, False, error=_describe(exc)))
    return results


def remove_feed(store: Store, name: str, *, withdraw: bool) -> int:
    """Stop refreshing a feed. Its polls stay (conservative) unless `withdraw`; returns how
    many were withdrawn."""
    feed = _feed(store, name)
    withdrawn = 0
    with store.write() as (conn, now):
        conn.execute(sa.delete(feed_t).where(F.id == feed.id))
        if withdraw:
            Ec = election_t.c
            going = list(
                conn.execute(
                    sa.select(Ec.id).where(
                        Ec.source == f"feed:{feed.name}", Ec.status.not_in(INACTIVE_STATUSES)
                    )
                ).scalars()
            )
            if going:
                conn.execute(
                    sa.update(election_t)
                    .where(among(Ec.id, going))
                    .values(status=ElectionStatus.WITHDRAWN.value, updated_at=now)
                )
            withdrawn = len(going)
            from purdah.services.elections import refresh_in
            from purdah.services.windows import Scope

            refresh_in(conn, now, Scope.of(elections=going))
    return int(withdrawn)
