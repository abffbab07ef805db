"""Who may not be promoted now, and until when? The comms officer's morning question.

Everyone the windows restrict at WHEN (so they may not be promoted, and may not post
unless an exemption says otherwise), grouped by council, each with the election(s), the
window's end and when their answer next changes; and, when nobody is restricted, when
the next restriction starts. Read-only: it answers from the windows, like `check`, with
set-based Core selects (one for the windows not yet over, one for the exemptions, one
for the people of the councils restricted now).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from purdah.decide import Action, Decision, Grant, RunUpWarning, Span, decide, run_up_warnings
from purdah.models import council_t, councillor_t, exemption_t, window_t
from purdah.queries import among, council_id
from purdah.services.check import next_change
from purdah.services.reconcile import grant_of
from purdah.services.windows import span_of, spans_query
from purdah.store import Store
from purdah.words import plural

W = window_t.c
X = exemption_t.c
C = council_t.c
P = councillor_t.c


@dataclass(frozen=True)
class Restricted:
    """One councillor who may not be promoted at `at`."""

    councillor: str
    name: str
    ward: str | None
    may_post: Decision
    may_promote: Decision
    until: datetime | None  # when they may be promoted again (None: not while stored)


@dataclass(frozen=True)
class CouncilToday:
    slug: str
    name: str
    windows: tuple[Span, ...]  # the windows in force
    councillors: tuple[Restricted, ...]
    warnings: tuple[RunUpWarning, ...] = ()  # run-up warnings for the council (council-wide)


@dataclass(frozen=True)
class NextRestriction:
    start: datetime
    election_id: str
    councils: tuple[tuple[str, str], ...]  # (slug, name) of each council it starts for


@dataclass(frozen=True)
class Today:
    at: datetime
    councils: tuple[CouncilToday, ...]  # councils with someone restricted, by slug
    next_restriction: NextRestriction | None  # when nobody is restricted now
    # Councils in the run-up of a window (the answer is "yes, but").
    warnings: tuple[tuple[str, RunUpWarning], ...] = ()

    @property
    def count(self) -> int:
        return sum(len(c.councillors) for c in self.councils)

    @property
    def summary(self) -> str:
        councils = [c for c in self.councils if c.councillors]
        if not councils:
            return "no councillor is restricted now"
        people = plural(self.count, "councillor")
        return f"{people} in {plural(len(councils), 'council')} may not be promoted now"


def today(store: Store, at: datetime, council: str | None = None) -> Today:
    spans_q = spans_query().where(W.end > at).order_by(W.start)
    with store.read() as conn:
        cid = council_id(conn, council) if council else None
        if cid is not None:
            spans_q = spans_q.where(W.council_id == cid)
        future: dict[int, list[Span]] = defaultdict(list)
        for row in conn.execute(spans_q):
            future[row.council_id].append(span_of(row))
        live = {
            c: [s for s in spans if s.start <= at] for c, spans in future.items()
        }  # councils with a window in force (possibly ward-scoped)
        live = {c: spans for c, spans in live.items() if spans}
        grants: dict[int, list[Grant]] = defaultdict(list)
        if live:
            for row in conn.execute(sa.select(exemption_t).where(X.end > at)):
                grants[row.councillor_id].append(grant_of(row))
        councils = {
            row.id: row
            for row in conn.execute(sa.select(C.id, C.slug, C.name).where(among(C.id, future)))
        }
        people: list[Any] = []
        if live:
            people = list(
                conn.execute(
                    sa.select(P.id, P.council_id, P.slug, P.name, P.ward, P.agreed_may_post)
                    .where(among(P.council_id, live), P.left_at.is_(None))
                    .order_by(P.council_id, P.slug)
                )
            )
    by_council: dict[int, list[Restricted]] = defaultdict(list)
    shared: dict[tuple[int, str | None, bool], tuple[Decision, Decision, datetime | None]] = {}
    for pid, cid_, slug, name, ward, agreed in people:
        spans = future[cid_]
        own = grants.get(pid, [])
        key = (cid_, ward if any(s.ward for s in spans) else None, bool(agreed))
        found = None if own else shared.get(key)
        if found is None:
            kwargs: dict[str, Any] = {
                "ward": ward,
                "agreed_may_post": bool(agreed),
                "spans": spans,
                "grants": own,
            }
            promote = decide(Action.PROMOTE, at, **kwargs)
            post = decide(Action.POST, at, **kwargs)
            until = (
                None
                if promote.allowed
                else next_change(Action.PROMOTE, at, False, ward, bool(agreed), spans, own)
            )
            found = (post, promote, until)
            if not own:
                shared[key] = found
        post, promote, until = found
        if not promote.allowed:
            slug_of = councils[cid_].slug
            by_council[cid_].append(
                Restricted(f"{slug_of}/{slug}", name, ward, post, promote, until)
            )
    listed = []
    for cid_, restricted in by_council.items():
        row = councils[cid_]
        listed.append(
            CouncilToday(
                row.slug,
                row.name,
                tuple(s for s in live[cid_]),
                tuple(restricted),
                run_up_warnings(at, None, future[cid_]),
            )
        )
    listed.sort(key=lambda c: c.slug)
    warnings = tuple(
        (councils[c].slug, w)
        for c in sorted(future, key=lambda c: councils[c].slug)
        if c not in by_council
        for w in run_up_warnings(at, None, future[c])
    )
    upcoming = None
    if not listed:
        starts = [
            (s.start, councils[c].slug, s.election_id, c)
            for c, spans in future.items()
            for s in spans
            if s.start > at
        ]
        if starts:
            start, _, election_id, _ = min(starts)
            upcoming = NextRestriction(
                start,
                election_id,
                tuple(
                    (slug, councils[c].name)
                    for t, slug, e, c in sorted(starts)
                    if t == start and e == election_id
                ),
            )
    return Today(at, tuple(listed), upcoming, warnings)
