"""May I promote this councillor now? `check` for one, `status` for many. Both answer from
the windows as of WHEN, never from the switched flags, so they are right even if the
scheduler was down at a boundary; a stored flag that differs is reported as a fault."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from purdah.decide import Action, Decision, Grant, Span, decide
from purdah.errors import NotFound
from purdah.models import council_t, councillor_t, exemption_t, window_t
from purdah.services.reconcile import grant_of, last_run
from purdah.services.register import council_id, split_ref
from purdah.services.windows import span_of, spans_query
from purdah.store import Store

P = councillor_t.c
C = council_t.c
W = window_t.c
X = exemption_t.c


@dataclass(frozen=True)
class CheckAnswer:
    councillor: str
    name: str
    action: Action
    at: datetime
    decision: Decision
    stored_flag: bool
    comparable: bool = True  # whether the stored flag is meant to hold at `at`

    @property
    def allowed(self) -> bool:
        return self.decision.allowed

    @property
    def mismatch(self) -> bool | None:
        """The stored flag disagrees with the answer: a fault (None: not comparable)."""
        if not self.comparable:
            return None
        return self.stored_flag != self.decision.allowed


def stored_flags_apply(conn: Connection, at: datetime, now: datetime | None) -> bool:
    """The stored flags claim to be right from the last reconcile until now; an answer for
    another instant cannot be compared with them."""
    if now is None:
        return True
    last = last_run(conn)
    return last is not None and last <= at <= now


_PERSON = (
    sa.select(P.id, P.name, P.ward, P.agreed_may_post, P.may_post, P.may_promote, P.council_id)
    .join_from(councillor_t, council_t, P.council_id == C.id)
    .where(C.slug == sa.bindparam("council"), P.slug == sa.bindparam("slug"))
)
_SPANS = spans_query().where(
    W.council_id == sa.bindparam("cid"), W.start <= sa.bindparam("at"), W.end > sa.bindparam("at")
)
_GRANTS = sa.select(exemption_t).where(
    X.councillor_id == sa.bindparam("pid"),
    X.start <= sa.bindparam("at"),
    X.end > sa.bindparam("at"),
)


def check(
    store: Store, ref: str, action: Action, at: datetime, now: datetime | None = None
) -> CheckAnswer:
    """The answer at `at`. Give `now` (the real clock) to compare with the stored flag only
    where it should hold; without it the stored flag is always compared."""
    council, slug = split_ref(ref)
    with store.read() as conn:
        person = conn.execute(_PERSON, {"council": council, "slug": slug}).first()
        if person is None:
            council_id(conn, council)  # says which of the two is unknown
            raise NotFound(
                f"no councillor {slug!r} in council {council!r}: see "
                f"'purdah councillor list --council {council}'"
            )
        spans = [span_of(r) for r in conn.execute(_SPANS, {"cid": person.council_id, "at": at})]
        grants = [grant_of(r) for r in conn.execute(_GRANTS, {"pid": person.id, "at": at})]
        comparable = stored_flags_apply(conn, at, now)
    decision = decide(
        action,
        at,
        ward=person.ward,
        agreed_may_post=person.agreed_may_post,
        spans=spans,
        grants=grants,
    )
    stored = person.may_post if action is Action.POST else person.may_promote
    return CheckAnswer(f"{council}/{slug}", person.name, action, at, decision, stored, comparable)


@dataclass(frozen=True)
class StatusRow:
    councillor: str
    name: str
    may_post: Decision
    may_promote: Decision
    stored_may_post: bool
    stored_may_promote: bool
    comparable: bool = True

    @property
    def mismatch(self) -> bool | None:
        if not self.comparable:
            return None
        return (self.stored_may_post, self.stored_may_promote) != (
            self.may_post.allowed,
            self.may_promote.allowed,
        )


def status(
    store: Store, at: datetime, council: str | None = None, now: datetime | None = None
) -> list[StatusRow]:
    people_q = (
        sa.select(
            C.slug.label("council"),
            P.slug,
            P.id,
            P.name,
            P.ward,
            P.agreed_may_post,
            P.may_post,
            P.may_promote,
            P.council_id,
        )
        .join_from(councillor_t, council_t, P.council_id == C.id)
        .order_by(C.slug, P.slug)
    )
    spans_q = spans_query().where(W.start <= at, W.end > at)
    grants_q = sa.select(exemption_t).where(X.start <= at, X.end > at)
    with store.read() as conn:
        if council:
            cid = council_id(conn, council)
            people_q = people_q.where(P.council_id == cid)
            spans_q = spans_q.where(W.council_id == cid)
        spans: dict[int, list[Span]] = defaultdict(list)
        for row in conn.execute(spans_q):
            spans[row.council_id].append(span_of(row))
        grants: dict[int, list[Grant]] = defaultdict(list)
        for row in conn.execute(grants_q):
            grants[row.councillor_id].append(grant_of(row))
        people = conn.execute(people_q).all()
        comparable = stored_flags_apply(conn, at, now)
    return [
        _status_row(p, at, spans.get(p.council_id, []), grants.get(p.id, []), comparable)
        for p in people
    ]


def _status_row(
    p: Any, at: datetime, spans: list[Span], grants: list[Grant], comparable: bool
) -> StatusRow:
    def verdict(action: Action) -> Decision:
        return decide(
            action, at, ward=p.ward, agreed_may_post=p.agreed_may_post, spans=spans, grants=grants
        )

    return StatusRow(
        f"{p.council}/{p.slug}",
        p.name,
        verdict(Action.POST),
        verdict(Action.PROMOTE),
        p.may_post,
        p.may_promote,
        comparable,
    )
