"""reconcile(now): switch every councillor's two flags to what the windows say, and audit.

Set-based and idempotent: it loads the councillors and the relevant windows and
exemptions with a few Core selects, decides in memory, updates only the rows that
differ, and writes one audit row per change. A unique constraint on the audit row
(councillor, flag, at, new) and conditional updates make a repeated or concurrent run
harmless; on PostgreSQL a transaction-level advisory lock lets one node do the work.

After downtime it catches up: every window or exemption boundary since the last run
is replayed in order, so the history shows each missed switch at the instant it was
due (`at`) and when it was written (`recorded_at`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from purdah.decide import Action, Grant, Span, decide
from purdah.models import councillor_t, exemption_t, flag_change_t, meta_t, window_t
from purdah.services.windows import span_of, spans_query
from purdah.store import Store

P = councillor_t.c
X = exemption_t.c
W = window_t.c
LAST_RUN = "last_reconcile_at"
_LOCK_KEY = 0x70757264  # "purd"


@dataclass(frozen=True)
class Change:
    councillor_id: int
    flag: str
    old: bool
    new: bool
    at: datetime
    cause: str


@dataclass(frozen=True)
class ReconcileResult:
    at: datetime
    changes: list[Change] = field(default_factory=list)
    replayed: int = 0  # boundaries since the last run that were caught up
    skipped: bool = False  # another node held the lock (PostgreSQL)
    refs: dict[int, str] = field(default_factory=dict)  # councillor id -> COUNCIL/SLUG


def last_run(conn: Connection) -> datetime | None:
    value = conn.execute(sa.select(meta_t.c.value).where(meta_t.c.key == LAST_RUN)).scalar()
    return datetime.fromisoformat(value) if value else None


def grant_of(row: Any) -> Grant:
    return Grant(row.id, row.action, row.start, row.end, row.reason, row.granted_by)


def reconcile(store: Store, now: datetime, actor: str = "reconcile") -> ReconcileResult:
    with store.write() as conn:
        return reconcile_in(conn, now, actor)


def reconcile_in(conn: Connection, now: datetime, actor: str = "reconcile") -> ReconcileResult:
    """reconcile inside an open write transaction (so an import and its reconcile commit
    together)."""
    if conn.dialect.name == "postgresql":
        got = conn.execute(sa.select(sa.func.pg_try_advisory_xact_lock(_LOCK_KEY))).scalar()
        if not got:
            return ReconcileResult(now, skipped=True)
    last = last_run(conn)
    since = last if last is not None and last < now else now

    spans: dict[int, list[Span]] = defaultdict(list)
    for row in conn.execute(spans_query().where(W.end > since, W.start <= now)):
        spans[row.council_id].append(span_of(row))
    grants: dict[int, list[Grant]] = defaultdict(list)
    for row in conn.execute(sa.select(exemption_t).where(X.end > since, X.start <= now)):
        grants[row.councillor_id].append(grant_of(row))

    people = conn.execute(
        sa.select(
            P.id, P.council_id, P.ward, P.agreed_may_post, P.may_post, P.may_promote, P.created_at
        )
    ).all()
    by_council: dict[int, list[Any]] = defaultdict(list)
    for person in people:
        by_council[person.council_id].append(person)
    by_id = {person.id: person for person in people}

    # Boundaries missed since the last run, each with who it touches.
    touched: dict[datetime, set[int]] = defaultdict(set)
    for council_id, council_spans in spans.items():
        ids = {p.id for p in by_council.get(council_id, ())}
        for span in council_spans:
            for instant in (span.start, span.end):
                if since < instant < now:
                    touched[instant] |= ids
    for councillor_id, councillor_grants in grants.items():
        for grant in councillor_grants:
            for instant in (grant.start, grant.end):
                if since < instant < now:
                    touched[instant].add(councillor_id)

    state = {p.id: {"may_post": p.may_post, "may_promote": p.may_promote} for p in people}
    changes: list[Change] = []

    def evaluate(person: Any, t: datetime) -> None:
        current = state[person.id]
        if (  # the common case: nothing restricts the council and the flags already agree
            person.council_id not in spans
            and current["may_post"] == person.agreed_may_post
            and current["may_promote"]
        ):
            return
        for action in (Action.POST, Action.PROMOTE):
            flag = "may_post" if action is Action.POST else "may_promote"
            verdict = decide(
                action,
                t,
                ward=person.ward,
                agreed_may_post=person.agreed_may_post,
                spans=spans.get(person.council_id, ()),
                grants=grants.get(person.id, ()),
            )
            old = current[flag]
            if verdict.allowed != old:
                changes.append(Change(person.id, flag, old, verdict.allowed, t, verdict.cause))
                current[flag] = verdict.allowed

    for instant in sorted(touched):
        for councillor_id in sorted(touched[instant]):
            person = by_id[councillor_id]
            if person.created_at <= instant:  # no history from before they were registered
                evaluate(person, instant)
    for person in people:
        evaluate(person, now)

    _write(conn, people, state, changes, now, actor)
    _set_last_run(conn, now)
    refs = _refs(conn, {c.councillor_id for c in changes})
    return ReconcileResult(now, changes, len(touched), refs=refs)


def _write(
    conn: Connection,
    people: Sequence[Any],
    state: dict[int, dict[str, bool]],
    changes: list[Change],
    now: datetime,
    actor: str,
) -> None:
    updates = [
        {
            "pid": p.id,
            "old_post": p.may_post,
            "old_promote": p.may_promote,
            "new_post": state[p.id]["may_post"],
            "new_promote": state[p.id]["may_promote"],
            "now": now,
        }
        for p in people
        if (p.may_post, p.may_promote) != (state[p.id]["may_post"], state[p.id]["may_promote"])
    ]
    if updates:
        conn.execute(
            sa.update(councillor_t)
            .where(
                P.id == sa.bindparam("pid"),
                P.may_post == sa.bindparam("old_post"),
                P.may_promote == sa.bindparam("old_promote"),
            )
            .values(
                may_post=sa.bindparam("new_post"),
                may_promote=sa.bindparam("new_promote"),
                flags_at=sa.bindparam("now"),
            ),
            updates,
        )
    if changes:
        insert = _insert_ignoring_duplicates(conn)
        conn.execute(
            insert,
            [
                {
                    "councillor_id": c.councillor_id,
                    "flag": c.flag,
                    "old": c.old,
                    "new": c.new,
                    "at": c.at,
                    "recorded_at": now,
                    "cause": c.cause,
                    "actor": actor,
                }
                for c in changes
            ],
        )


def _insert_ignoring_duplicates(conn: Connection) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(flag_change_t).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(flag_change_t).on_conflict_do_nothing()


def _set_last_run(conn: Connection, now: datetime) -> None:
    value = now.isoformat()
    updated = conn.execute(
        sa.update(meta_t).where(meta_t.c.key == LAST_RUN).values(value=value)
    ).rowcount
    if not updated:
        conn.execute(sa.insert(meta_t).values(key=LAST_RUN, value=value))


def _refs(conn: Connection, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    from purdah.models import council_t

    rows = conn.execute(
        sa.select(P.id, council_t.c.slug, P.slug)
        .join_from(councillor_t, council_t, P.council_id == council_t.c.id)
        .where(P.id.in_(ids))
    )
    return {pid: f"{council}/{slug}" for pid, council, slug in rows}
