"""reconcile: switch every councillor's two flags to what the windows say now, and audit.

Set-based and idempotent: it loads the councillors and the relevant windows and
exemptions with a few Core selects, decides in memory, updates only the rows that
differ, and writes one audit row per change. It runs inside a write transaction, so it
holds the write lock (SQLite BEGIN IMMEDIATE, PostgreSQL the advisory lock) and decides
at the instant read once the lock was held. The audit is written only for changes the
store really made: every flag update is conditional on the flags read, and the
last-reconcile mark is compare-and-set, so a write that raced another (which the lock
rules out) is rolled back loudly instead of losing or doubling an audit row.

`reconcile --at WHEN` is a dry run: what a reconcile at WHEN would switch, written
nowhere.

After downtime it catches up: every window or exemption boundary since the last run
is replayed in order, so the history shows each missed switch at the instant it was
due (`at`) and when it was written (`recorded_at`). Only what the store knew at the last
run is replayed: a window that changed, or an exemption recorded, since then (by the very
write that reconciles) switches flags at now, never at an instant before it was known.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from purdah.decide import Decider, Grant, Span
from purdah.errors import ConcurrentWrite, StoreBusy
from purdah.models import councillor_t, exemption_t, meta_t, window_t
from purdah.outbox import events as outbox
from purdah.services.windows import span_of, spans_query
from purdah.store import LAST_RECONCILE_KEY, WRITE_LOCK_KEY, Store, db_instant

P = councillor_t.c
X = exemption_t.c
W = window_t.c
LAST_RUN = LAST_RECONCILE_KEY
_FLAGS = ("may_post", "may_promote")  # the order of Decider.pair


class Change(NamedTuple):
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
    skipped: bool = False  # the write lock was busy for the whole bounded wait: nothing done
    dry_run: bool = False  # decided at a chosen instant, nothing written
    refs: dict[int, str] = field(default_factory=dict)  # councillor id -> COUNCIL/SLUG


def last_run(conn: Connection) -> datetime | None:
    value = conn.execute(sa.select(meta_t.c.value).where(meta_t.c.key == LAST_RUN)).scalar()
    return datetime.fromisoformat(value) if value else None


def grant_of(row: Any) -> Grant:
    return Grant(row.id, row.action, row.start, row.end, row.reason, row.granted_by)


def reconcile(
    store: Store, actor: str = "reconcile", *, skip_if_busy: bool = False
) -> ReconcileResult:
    """Reconcile at the real instant read once the write lock is held. If the lock stays
    busy for the store's whole bounded wait: StoreBusy, or with `skip_if_busy` (the
    scheduler) a result marked skipped, at the clock's instant."""
    try:
        with store.write() as (conn, now):
            return reconcile_in(conn, now, actor)
    except StoreBusy:
        if not skip_if_busy:
            raise
        return ReconcileResult(store.clock(), skipped=True)


def reconcile_dry_run(store: Store, at: datetime) -> ReconcileResult:
    """What a reconcile at `at` would switch from the stored flags; writes nothing and
    takes no lock (the answer may be stale the moment it is given)."""
    with store.read() as conn:
        return reconcile_in(conn, at, "dry run", dry_run=True)


def reconcile_in(
    conn: Connection, now: datetime, actor: str = "reconcile", *, dry_run: bool = False
) -> ReconcileResult:
    """reconcile inside an open write transaction (so an import and its reconcile commit
    together); `now` must be the instant the transaction read once it held the lock."""
    if conn.dialect.name == "postgresql" and not dry_run:
        # Store.write took it already; re-entrant, so this only proves it is held.
        got = conn.execute(sa.select(sa.func.pg_try_advisory_xact_lock(WRITE_LOCK_KEY))).scalar()
        if not got:
            raise ConcurrentWrite("reconcile ran outside a write transaction holding the lock")
    mark = conn.execute(sa.select(meta_t.c.value).where(meta_t.c.key == LAST_RUN)).scalar()
    last = datetime.fromisoformat(mark) if mark else None
    since = last if last is not None and last < now else now

    state: dict[int, Any] = {}  # councillor id -> [row, may_post, may_promote] as we go
    changes: list[Change] = []

    def load(query: sa.Select[Any]) -> list[Any]:
        found = []
        for row in conn.execute(query):
            entry = state.get(row.id)
            if entry is None:
                entry = state[row.id] = [row, row.may_post, row.may_promote]
            found.append(entry)
        return found

    def evaluate(entry: list[Any], decider: Decider) -> None:
        person = entry[0]
        verdicts = decider.pair(person.council_id, person.id, person.ward, person.agreed_may_post)
        for index, (flag, verdict) in enumerate(zip(_FLAGS, verdicts, strict=True), start=1):
            if verdict.allowed != entry[index]:
                changes.append(
                    Change(person.id, flag, entry[index], verdict.allowed, decider.t, verdict.cause)
                )
                entry[index] = verdict.allowed

    # Boundaries missed since the last run: which councils and councillors each touches.
    missed: dict[datetime, set[int]] = defaultdict(set)  # instant -> council ids
    missed_grants: dict[datetime, set[int]] = defaultdict(set)  # instant -> councillor ids
    if since < now:
        for owner, start, end in conn.execute(
            _boundaries(W.council_id, W.start, W.end, W.changed_at, since, now)
        ):
            for instant in (start, end):
                if since < instant < now:
                    missed[instant].add(owner)
        for owner, start, end in conn.execute(
            _boundaries(X.councillor_id, X.start, X.end, X.created_at, since, now)
        ):
            for instant in (start, end):
                if since < instant < now:
                    missed_grants[instant].add(owner)
    instants = sorted(set(missed) | set(missed_grants))
    if instants:
        councils = set().union(*missed.values()) if missed else set()
        people = set().union(*missed_grants.values()) if missed_grants else set()
        load(
            _PEOPLE.add_columns(P.created_at)
            .where(sa.or_(P.council_id.in_(councils), P.id.in_(people)))
            .order_by(P.id)
        )
    load(_maybe_wrong(now))
    if not state:  # the common tick: nobody's flags can be wrong and nothing was missed
        if not dry_run:
            _set_last_run(conn, mark, now)
        return ReconcileResult(now, dry_run=dry_run)

    spans, grants, known_spans, known_grants = _spans_and_grants(conn, state, since, now)
    if instants:
        by_council: dict[int, list[Any]] = defaultdict(list)
        for entry in state.values():
            by_council[entry[0].council_id].append(entry)
        for instant in instants:
            decider = Decider(instant, known_spans, known_grants)  # as known at the last run
            due = {
                entry[0].id: entry
                for council_id in missed.get(instant, ())
                for entry in by_council.get(council_id, ())
            }
            due.update({pid: state[pid] for pid in missed_grants.get(instant, ()) if pid in state})
            for pid in sorted(due):
                if due[pid][0].created_at <= instant:  # no history from before registration
                    evaluate(due[pid], decider)

    # Now: everyone whose stored flags could be wrong, plus everyone caught up above.
    decider = Decider(now, spans, grants)
    for entry in state.values():
        evaluate(entry, decider)

    if not dry_run:
        _write(conn, state, now, changes, actor)
        _set_last_run(conn, mark, now)
    refs = _refs(conn, {c.councillor_id for c in changes})
    return ReconcileResult(now, changes, len(instants), refs=refs, dry_run=dry_run)


_FEW = 2000  # up to this many ids go in an IN list; more, and the whole table is read


def _boundaries(
    owner: Any, start: Any, end: Any, known: Any, since: datetime, now: datetime
) -> Any:
    """Rows known at `since` (`known` not after it) with a start or an end in (since, now)."""
    return sa.select(owner, start, end).where(
        sa.or_(known.is_(None), known <= since),
        sa.or_(sa.and_(start > since, start < now), sa.and_(end > since, end < now)),
    )


_Spans = dict[int, list[Span]]
_Grants = dict[int, list[Grant]]


def _spans_and_grants(
    conn: Connection, state: dict[int, Any], since: datetime, now: datetime
) -> tuple[_Spans, _Grants, _Spans, _Grants]:
    """The windows and exemptions of (since, now] for the councillors being evaluated:
    all of them (for the decision at now), and those already known at `since` (for the
    catch-up; a window's `changed_at` or an exemption's `created_at` not after it)."""
    councils = {entry[0].council_id for entry in state.values()}
    spans_q = spans_query().add_columns(W.changed_at).where(W.end > since, W.start <= now)
    if len(councils) <= _FEW:
        spans_q = spans_q.where(W.council_id.in_(councils))
    spans: _Spans = defaultdict(list)
    known_spans: _Spans = defaultdict(list)
    for row in conn.execute(spans_q):
        span = span_of(row)
        spans[row.council_id].append(span)
        if row.changed_at is None or row.changed_at <= since:
            known_spans[row.council_id].append(span)
    grants_q = sa.select(exemption_t).where(X.end > since, X.start <= now)
    if len(state) <= _FEW:
        grants_q = grants_q.where(X.councillor_id.in_(list(state)))
    grants: _Grants = defaultdict(list)
    known_grants: _Grants = defaultdict(list)
    for row in conn.execute(grants_q):
        grant = grant_of(row)
        grants[row.councillor_id].append(grant)
        if row.created_at <= since:
            known_grants[row.councillor_id].append(grant)
    return spans, grants, known_spans, known_grants


# Councillors in office: one who left (left_at) keeps the flags and history they had.
_PEOPLE = sa.select(P.id, P.council_id, P.ward, P.agreed_may_post, P.may_post, P.may_promote).where(
    P.left_at.is_(None)
)


def _maybe_wrong(t: datetime) -> sa.Select[Any]:
    """Councillors whose stored flags may differ from the decision at t. A superset:
    `decide` still makes every decision; this only leaves out rows that certainly agree."""
    in_force = sa.and_(W.start <= t, W.end > t)
    council_wide = sa.select(W.council_id).where(in_force, W.ward.is_(None))
    ward_scoped = sa.select(W.council_id).where(in_force, W.ward.is_not(None))
    granted = sa.select(X.councillor_id).where(X.start <= t, X.end > t)
    return _PEOPLE.where(
        sa.or_(
            sa.and_(P.council_id.in_(council_wide), sa.or_(P.may_promote, P.may_post)),
            sa.and_(
                P.council_id.not_in(council_wide),
                sa.or_(sa.not_(P.may_promote), P.may_post != P.agreed_may_post),
            ),
            P.council_id.in_(ward_scoped),
            P.id.in_(granted),
        )
    ).order_by(P.id)


def _write(
    conn: Connection, state: dict[int, Any], now: datetime, changes: list[Change], actor: str
) -> None:
    """Plain executemany for both writes: through SQLAlchemy's per-parameter processing
    100,000 rows took seconds. Every councillor whose flags end up different gets one
    update conditional on the flags read; the audit rows are written only when every one
    of those updates matched, so each row records a change the store really made. A
    mismatch means another writer changed flags without the lock: ConcurrentWrite, and
    the transaction rolls back. (A councillor a catch-up switches off and on again keeps
    its flags and gets no update: the lock, which every write holds, and the
    compare-and-set reconcile mark vouch for those rows; checking them too doubled the
    time of a catch-up over 100,000 councillors.)"""
    if not changes:
        return
    marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    convert = db_instant(conn.dialect.name)
    instants = {at: convert(at) for at in {c.at for c in changes} | {now}}  # a few distinct
    recorded = instants[now]
    updates = [
        (post, promote, recorded, row.id, row.may_post, row.may_promote)
        for row, post, promote in state.values()
        if (row.may_post, row.may_promote) != (post, promote)
    ]
    matched = 0
    if updates:
        matched = conn.exec_driver_sql(
            f"UPDATE councillor SET may_post = {marker}, may_promote = {marker}, "
            f"flags_at = {marker} WHERE id = {marker} AND may_post = {marker} "
            f"AND may_promote = {marker}",
            updates,
        ).rowcount
    if matched != len(updates):
        raise ConcurrentWrite(
            f"{len(updates) - matched} of {len(updates)} councillors' flags changed under this "
            "write: nothing recorded; retry"
        )
    columns = "councillor_id, flag, old, new, at, recorded_at, cause, actor"
    mark = outbox.audit_mark(conn)  # the outbox event of each audit row, below
    conn.exec_driver_sql(
        f"INSERT INTO flag_change ({columns}) VALUES ({', '.join([marker] * 8)})",
        [
            (c.councillor_id, c.flag, c.old, c.new, instants[c.at], recorded, c.cause, actor)
            for c in changes
        ],
    )
    outbox.record_flag_changes(conn, mark, now)


def _set_last_run(conn: Connection, mark: str | None, now: datetime) -> None:
    """Compare-and-set: the mark must still be the one this run read (`mark`), or another
    run went in between and this one's catch-up would double its audit rows."""
    value = now.isoformat()
    if mark is None:
        exists = conn.execute(sa.select(meta_t.c.key).where(meta_t.c.key == LAST_RUN)).first()
        if exists is None:
            conn.execute(sa.insert(meta_t).values(key=LAST_RUN, value=value))
            return
        raise ConcurrentWrite("another reconcile set the reconcile mark under this write; retry")
    updated = conn.execute(
        sa.update(meta_t)
        .where(meta_t.c.key == LAST_RUN, meta_t.c.value == mark)
        .values(value=value)
    ).rowcount
    if updated != 1:
        raise ConcurrentWrite("another reconcile moved the reconcile mark under this write; retry")


def _refs(conn: Connection, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    from purdah.models import council_t

    query = sa.select(P.id, council_t.c.slug, P.slug).join_from(
        councillor_t, council_t, P.council_id == council_t.c.id
    )
    if len(ids) <= _FEW:
        query = query.where(P.id.in_(ids))
    rows = conn.execute(query)
    return {pid: f"{council}/{slug}" for pid, council, slug in rows if pid in ids}
