"""`purdah export` and the HTTP feeds: a council's (or a councillor's) restricted periods."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from types import SimpleNamespace

from purdah.decide import ward_slug
from purdah.errors import NotFound
from purdah.ical.writer import (
    Period,
    RemovedInfo,
    WindowInfo,
    election_name,
    last_modified,
    periods_and_cancelled,
    render,
)
from purdah.models import council_t, councillor_t, election_t, window_t
from purdah.queries import council_by_slug
from purdah.refs import split_ref
from purdah.rules import RULES_BY_KEY
from purdah.store import Store, as_instant

W = window_t.c
E = election_t.c
C = council_t.c
P = councillor_t.c


@dataclass(frozen=True)
class Feed:
    body: bytes
    etag: str  # strong: a hash of the bytes
    last_modified: datetime
    filename: str
    # The bytes stay the same until this instant while the store does (when the next
    # cancelled event drops out of the feed); None: as long as the store does.
    valid_until: datetime | None = None


@lru_cache(maxsize=512)
def _rendered(
    periods: tuple[Period, ...],
    removed: tuple[RemovedInfo, ...],
    name: str,
    description: str,
    uid_prefix: str,
    who: str,
    url: str | None,
) -> tuple[bytes, str]:
    """The bytes and strong ETag of a feed. The bytes are a pure function of these
    arguments, so unchanged data costs a dictionary lookup (and a 304 no rendering)."""
    body = render(
        list(periods),
        name=name,
        description=description,
        uid_prefix=uid_prefix,
        who=who,
        url=url,
        removed=removed,
    )
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _feed(
    windows: list[WindowInfo],
    removed: list[RemovedInfo],
    now: datetime | None,
    created_at: datetime,
    filename: str,
    *,
    name: str,
    description: str,
    uid_prefix: str,
    who: str,
    url: str | None,
) -> Feed:
    """`now` decides which cancelled events are still published (the real clock if None)."""
    at = (now or datetime.now(UTC)).astimezone(UTC)
    periods, shown = periods_and_cancelled(windows, removed, at)
    modified = last_modified(periods, created_at.astimezone(UTC), removed, at)
    body, etag = _rendered(tuple(periods), tuple(shown), name, description, uid_prefix, who, url)
    expiries = [r.expires_at for r in removed if r.expires_at > at]
    return Feed(body, etag, modified, filename, min(expiries) if expiries else None)


# Plain SQL through Store.query (stdlib sqlite3 on SQLite): feeds are a hot read path.
_COUNCILLOR_SQL = """
SELECT c.id, c.slug, c.name, p.slug, p.name, p.ward, p.created_at
FROM councillor p JOIN council c ON c.id = p.council_id
WHERE c.slug = :council AND p.slug = :slug
"""
_WINDOWS_SQL = """
SELECT w.id, e.election_id, w.start, w."end", w.start_basis, w.end_basis, w.actual_notice,
       w.rule, w.changed_at, w.ward, e.poll_date, w.notes, ac.name, e.status
FROM "window" w JOIN election e ON e.id = w.election_pk
LEFT JOIN council ac ON ac.slug = e.area
WHERE w.council_id = :cid
ORDER BY w.start, w.id
"""
_REMOVED_SQL = """
SELECT r.window_id, r.election_id, r.poll_date, r.start, r."end", r.rule, r.reason,
       r.removed_at, r.expires_at, r.ward, ac.name
FROM removed_window r LEFT JOIN council ac ON ac.slug = r.area
WHERE r.council_id = :cid
ORDER BY r.start, r.window_id, r.id
"""


def _day(value: object) -> date:
    """A date read with plain SQL: SQLite gives text."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _rule(key: str) -> tuple[str, tuple[str, ...]]:
    rule = RULES_BY_KEY.get(key)
    return (rule.title, rule.sources) if rule else (key, ())


def _removed(store: Store, council_id: int) -> list[tuple[RemovedInfo, str | None]]:
    found = []
    seen: set[int] = set()
    rows = store.query(_REMOVED_SQL, {"cid": council_id})
    # The latest removal of a window id wins (SQLite may give an id again).
    for wid, eid, poll, start, end, rule_key, reason, removed_at, expires, ward, area in sorted(
        rows, key=lambda r: as_instant(r[7]), reverse=True
    ):
        if wid in seen:
            continue
        seen.add(wid)
        info = RemovedInfo(
            wid,
            eid,
            election_name(eid, area),
            _day(poll),
            as_instant(start),
            as_instant(end),
            _rule(rule_key)[0],
            reason,
            as_instant(removed_at),
            as_instant(expires),
        )
        found.append((info, ward))
    return sorted(found, key=lambda f: (f[0].start, f[0].window_id))


def _windows(store: Store, council_id: int) -> list[tuple[WindowInfo, str | None]]:
    found = []
    for (
        wid,
        eid,
        start,
        end,
        start_basis,
        end_basis,
        actual,
        rule_key,
        changed,
        ward,
        poll,
        notes,
        area,
        status,
    ) in store.query(_WINDOWS_SQL, {"cid": council_id}):
        rule_title, sources = _rule(rule_key)
        info = WindowInfo(
            wid,
            eid,
            as_instant(start),
            as_instant(end),
            start_basis,
            end_basis,
            bool(actual),
            rule_title,
            sources,
            as_instant(changed) if changed is not None else None,
            election_name(eid, area),
            _day(poll),
            notes or "",
            status == "cancelled",
        )
        found.append((info, ward))
    return found


def council_feed(
    store: Store, council: str, url: str | None = None, *, now: datetime | None = None
) -> Feed:
    row = council_by_slug(store, council)
    windows = [info for info, ward in _windows(store, row.id) if ward is None]
    removed = [info for info, ward in _removed(store, row.id) if ward is None]
    return _feed(
        windows,
        removed,
        now,
        row.created_at,
        f"{row.slug}.ics",
        name=f"Pre-election periods: {row.name}",
        description=f"When {row.name} does not promote councillors and councillors may not "
        "post on its accounts (purdah).",
        uid_prefix=f"purdah-{row.slug}",
        who=f"every councillor of {row.name}",
        url=url,
    )


def councillor_feed(
    store: Store, ref: str, url: str | None = None, *, now: datetime | None = None
) -> Feed:
    council, slug = split_ref(ref)
    rows = store.query(_COUNCILLOR_SQL, {"council": council, "slug": slug})
    if not rows:
        raise NotFound(f"no councillor {ref!r} in the register: see 'purdah councillor list'")
    cid, council_slug, council_name, person_slug, name, ward, created_at = rows[0]
    row = SimpleNamespace(
        council=council_slug,
        council_name=council_name,
        slug=person_slug,
        name=name,
        created_at=as_instant(created_at),
    )
    key = ward_slug(ward)
    windows = [info for info, w in _windows(store, cid) if w is None or w == key]
    removed = [info for info, w in _removed(store, cid) if w is None or w == key]
    return _feed(
        windows,
        removed,
        now,
        row.created_at,
        f"{row.council}-{row.slug}.ics",
        name=f"Pre-election periods: {row.name} ({row.council_name})",
        description=f"When {row.council_name} does not promote {row.name} and they may not "
        "post on its accounts (purdah).",
        uid_prefix=f"purdah-{row.council}-{row.slug}",
        who=row.name,
        url=url,
    )


GOOGLE_REFRESH = (
    "Google Calendar refreshes subscribed calendars only every 12 to 24 hours: a change can "
    "take that long to show there."
)


@dataclass(frozen=True)
class Links:
    """Where to subscribe to a feed: webcal:// opens the calendar app (Apple, Outlook,
    Thunderbird); https:// is for Outlook on the web and Google ("From URL")."""

    https: str
    webcal: str
    path: str
    note: str = GOOGLE_REFRESH


def feed_path(council: str | None = None, ref: str | None = None) -> str:
    """The path the HTTP service serves a feed at."""
    if ref is not None:
        council_slug, slug = split_ref(ref)
        return f"/calendars/{council_slug}/{slug}.ics"
    return f"/calendars/{(council or '').strip().lower()}.ics"


def subscription_links(base: str, path: str) -> Links:
    """The links of the feed at `path` under the service's public base URL (https://...)."""
    from purdah.errors import InputError

    scheme, sep, rest = base.strip().rstrip("/").partition("://")
    if not sep or scheme.lower() not in ("https", "http") or not rest or "/" in rest.split("?")[0]:
        raise InputError(
            f"--url {base!r} is not the service's public base URL: give it as "
            "https://HOST (e.g. https://purdah.example.gov.uk), without a path"
        )
    return Links(f"{scheme.lower()}://{rest}{path}", f"webcal://{rest}{path}", path)
