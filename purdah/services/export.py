"""`purdah export` and the HTTP feeds: a council's (or a councillor's) restricted periods."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from types import SimpleNamespace

from purdah.decide import ward_slug
from purdah.errors import NotFound
from purdah.ical.writer import Period, WindowInfo, last_modified, merge, render
from purdah.models import council_t, councillor_t, election_t, window_t
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


@lru_cache(maxsize=512)
def _rendered(
    periods: tuple[Period, ...],
    name: str,
    description: str,
    uid_prefix: str,
    who: str,
    url: str | None,
) -> tuple[bytes, str]:
    """The bytes and strong ETag of a feed. The bytes are a pure function of these
    arguments, so unchanged data costs a dictionary lookup (and a 304 no rendering)."""
    body = render(
        list(periods), name=name, description=description, uid_prefix=uid_prefix, who=who, url=url
    )
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _feed(
    periods: list[Period],
    modified: datetime,
    filename: str,
    *,
    name: str,
    description: str,
    uid_prefix: str,
    who: str,
    url: str | None,
) -> Feed:
    body, etag = _rendered(tuple(periods), name, description, uid_prefix, who, url)
    return Feed(body, etag, modified, filename)


# Plain SQL through Store.query (stdlib sqlite3 on SQLite): feeds are a hot read path.
_COUNCIL_SQL = "SELECT id, slug, name, created_at FROM council WHERE slug = :council"
_COUNCILLOR_SQL = """
SELECT c.id, c.slug, c.name, p.slug, p.name, p.ward, p.created_at
FROM councillor p JOIN council c ON c.id = p.council_id
WHERE c.slug = :council AND p.slug = :slug
"""
_WINDOWS_SQL = """
SELECT w.id, e.election_id, w.start, w."end", w.start_basis, w.end_basis, w.actual_notice,
       w.rule, w.changed_at, w.ward
FROM "window" w JOIN election e ON e.id = w.election_pk
WHERE w.council_id = :cid
ORDER BY w.start, w.id
"""


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
    ) in store.query(_WINDOWS_SQL, {"cid": council_id}):
        rule = RULES_BY_KEY.get(rule_key)
        info = WindowInfo(
            wid,
            eid,
            as_instant(start),
            as_instant(end),
            start_basis,
            end_basis,
            bool(actual),
            rule.title if rule else rule_key,
            rule.sources if rule else (),
            as_instant(changed) if changed is not None else None,
        )
        found.append((info, ward))
    return found


def council_feed(store: Store, council: str, url: str | None = None) -> Feed:
    rows = store.query(_COUNCIL_SQL, {"council": council.strip().lower()})
    if not rows:
        raise NotFound(f"no council {council!r} in the register: see 'purdah council list'")
    council_id, slug, name, created_at = rows[0]
    row = SimpleNamespace(slug=slug, name=name, created_at=as_instant(created_at))
    windows = [info for info, ward in _windows(store, council_id) if ward is None]
    periods = merge(windows)
    return _feed(
        periods,
        last_modified(periods, row.created_at.astimezone(UTC)),
        f"{row.slug}.ics",
        name=f"Pre-election periods: {row.name}",
        description=f"When {row.name} does not promote councillors and councillors may not "
        "post on its accounts (purdah).",
        uid_prefix=f"purdah-{row.slug}",
        who=f"every councillor of {row.name}",
        url=url,
    )


def councillor_feed(store: Store, ref: str, url: str | None = None) -> Feed:
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
    periods = merge(windows)
    return _feed(
        periods,
        last_modified(periods, row.created_at.astimezone(UTC)),
        f"{row.council}-{row.slug}.ics",
        name=f"Pre-election periods: {row.name} ({row.council_name})",
        description=f"When {row.council_name} does not promote {row.name} and they may not "
        "post on its accounts (purdah).",
        uid_prefix=f"purdah-{row.council}-{row.slug}",
        who=row.name,
        url=url,
    )
