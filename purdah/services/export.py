"""`purdah export` and the HTTP feeds: a council's (or a councillor's) restricted periods."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from purdah.decide import ward_slug
from purdah.errors import NotFound
from purdah.ical.writer import WindowInfo, last_modified, merge, render
from purdah.models import council_t, councillor_t, election_t, window_t
from purdah.refs import split_ref
from purdah.rules import RULES_BY_KEY
from purdah.store import Store

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


def _feed(body: bytes, modified: datetime, filename: str) -> Feed:
    return Feed(body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"', modified, filename)


def _windows(conn: sa.engine.Connection, council_id: int) -> list[tuple[WindowInfo, Any]]:
    rows = conn.execute(
        sa.select(
            W.id,
            E.election_id,
            W.start,
            W.end,
            W.start_basis,
            W.end_basis,
            W.actual_notice,
            W.rule,
            W.changed_at,
            W.ward,
        )
        .join_from(window_t, election_t, W.election_pk == E.id)
        .where(W.council_id == council_id)
        .order_by(W.start, W.id)
    )
    found = []
    for r in rows:
        rule = RULES_BY_KEY.get(r.rule)
        info = WindowInfo(
            r.id,
            r.election_id,
            r.start,
            r.end,
            r.start_basis,
            r.end_basis,
            r.actual_notice,
            rule.title if rule else r.rule,
            rule.sources if rule else (),
            r.changed_at,
        )
        found.append((info, r.ward))
    return found


def council_feed(store: Store, council: str, url: str | None = None) -> Feed:
    with store.read() as conn:
        row = conn.execute(sa.select(council_t).where(C.slug == council.strip().lower())).first()
        if row is None:
            raise NotFound(f"no council {council!r} in the register: see 'purdah council list'")
        windows = [info for info, ward in _windows(conn, row.id) if ward is None]
    periods = merge(windows)
    body = render(
        periods,
        name=f"Pre-election periods: {row.name}",
        description=f"When {row.name} does not promote councillors and councillors may not "
        "post on its accounts (purdah).",
        uid_prefix=f"purdah-{row.slug}",
        who=f"every councillor of {row.name}",
        url=url,
    )
    return _feed(body, last_modified(periods, row.created_at.astimezone(UTC)), f"{row.slug}.ics")


def councillor_feed(store: Store, ref: str, url: str | None = None) -> Feed:
    council, slug = split_ref(ref)
    with store.read() as conn:
        row = conn.execute(
            sa.select(
                C.id.label("cid"),
                C.slug.label("council"),
                C.name.label("council_name"),
                P.slug,
                P.name,
                P.ward,
                P.created_at,
            )
            .join_from(councillor_t, council_t, P.council_id == C.id)
            .where(C.slug == council, P.slug == slug)
        ).first()
        if row is None:
            raise NotFound(f"no councillor {ref!r} in the register: see 'purdah councillor list'")
        key = ward_slug(row.ward)
        windows = [info for info, ward in _windows(conn, row.cid) if ward is None or ward == key]
    periods = merge(windows)
    body = render(
        periods,
        name=f"Pre-election periods: {row.name} ({row.council_name})",
        description=f"When {row.council_name} does not promote {row.name} and they may not "
        "post on its accounts (purdah).",
        uid_prefix=f"purdah-{row.council}-{row.slug}",
        who=row.name,
        url=url,
    )
    return _feed(
        body,
        last_modified(periods, row.created_at.astimezone(UTC)),
        f"{row.council}-{row.slug}.ics",
    )
