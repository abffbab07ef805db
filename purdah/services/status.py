"""Everyone's effective flags at WHEN, next to the stored ones: set-based Core selects and
one Decider, so all 100,000 councillors of a national register come back in one pass."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa

from purdah.decide import Decider, Decision, Grant, RunUpWarning, Span, run_up_warnings
from purdah.models import exemption_t, window_t
from purdah.services.check import stored_flags_apply
from purdah.services.reconcile import grant_of, last_run
from purdah.services.register import council_id
from purdah.services.windows import span_of, spans_query
from purdah.store import Store

W = window_t.c
X = exemption_t.c


class StatusRow(NamedTuple):
    councillor: str
    name: str
    may_post: Decision
    may_promote: Decision
    stored_may_post: bool
    stored_may_promote: bool
    comparable: bool = True
    # The run-up before a window the council's policy does not restrict in ("yes, but").
    warnings: tuple[RunUpWarning, ...] = ()

    @property
    def mismatch(self) -> bool | None:
        if not self.comparable:
            return None
        return (self.stored_may_post, self.stored_may_promote) != (
            self.may_post.allowed,
            self.may_promote.allowed,
        )


_PEOPLE_SQL = """
SELECT c.slug, p.slug, p.id, p.name, p.ward, p.agreed_may_post, p.may_post, p.may_promote,
       p.council_id
FROM councillor p JOIN council c ON c.id = p.council_id
WHERE p.left_at IS NULL {where}
ORDER BY c.slug, p.slug
"""


def status(
    store: Store, at: datetime, council: str | None = None, now: datetime | None = None
) -> list[StatusRow]:
    spans_q = spans_query().where(W.start <= at, W.end > at)
    run_up_q = spans_query().where(W.run_up_start <= at, W.start > at)
    grants_q = sa.select(exemption_t).where(X.start <= at, X.end > at)
    params: dict[str, Any] = {}
    with store.read() as conn:
        if council:
            params["cid"] = council_id(conn, council)
            spans_q = spans_q.where(W.council_id == params["cid"])
            run_up_q = run_up_q.where(W.council_id == params["cid"])
        spans: dict[int, list[Span]] = defaultdict(list)
        for row in conn.execute(spans_q):
            spans[row.council_id].append(span_of(row))
        run_ups: dict[int, list[Span]] = defaultdict(list)
        for row in conn.execute(run_up_q):
            run_ups[row.council_id].append(span_of(row))
        grants: dict[int, list[Grant]] = defaultdict(list)
        for row in conn.execute(grants_q):
            grants[row.councillor_id].append(grant_of(row))
        comparable = stored_flags_apply(last_run(conn), at, now)
    where = "AND p.council_id = :cid" if council else ""
    people = store.query(_PEOPLE_SQL.format(where=where), params)
    pair = Decider(at, spans, grants).pair
    # Decisions differ only by council and agreement, and by ward where a window is
    # ward-scoped; an exemption holder is decided alone.
    ward_scoped = {
        cid for cid, council_spans in spans.items() if any(s.ward for s in council_spans)
    }
    shared: dict[tuple[int, str | None, bool], tuple[Decision, Decision]] = {}
    rows = []
    for council_slug, slug, pid, name, ward, agreed, post, promote, cid in people:
        if pid in grants:
            may_post, may_promote = pair(cid, pid, ward, bool(agreed))
        else:
            key = (cid, ward if cid in ward_scoped else None, bool(agreed))
            found = shared.get(key)
            if found is None:
                found = shared[key] = pair(cid, pid, ward, bool(agreed))
            may_post, may_promote = found
        warnings = run_up_warnings(at, ward, run_ups[cid]) if cid in run_ups else ()
        rows.append(
            StatusRow(
                f"{council_slug}/{slug}",
                name,
                may_post,
                may_promote,
                bool(post),
                bool(promote),
                comparable,
                warnings,
            )
        )
    return rows
