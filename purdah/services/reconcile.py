"""reconcile: switch every councillor's two flags to what the windows say now, and audit.

Work proportional to what changed. A tick reconciles only what can have moved since the
last run (its mark): the councils with a window boundary in (last run, now] or a window
written, added or removed since (`window.changed_at`, `removed_window.removed_at`), and
the councillors with an exemption boundary in (last run, now], an exemption recorded
since, or who were added or edited since (`councillor.created_at`, `changed_at`). Those
stamps are every input of a decision, so the stored flags of everyone else are still
what they were at the last run, which decided them. A full sweep (`full=True`; the
first run ever, a clock behind the last run, `purdah reconcile --full`, and the
scheduler at start-up and daily) reconciles every council, and counts the changes the
incremental path would not have made (`fixed`, which should be 0).

Decided once per council. Without a ward-scoped window or an exemption, a decision
depends only on the council's windows and the councillor's agreement to post: each
council due is decided in memory (by the same `Decider` check and status use), and its
councillors are switched by set-based statements joined to a temporary table of those
decisions. The few councillors with an exemption, or in a council with a ward-scoped
window, are decided one by one.

The audit is written only for changes the store really made: every flag update is
conditional on the flags read, and the last-reconcile mark is compare-and-set, so a write
that raced another (which the lock rules out) is rolled back loudly instead of losing or
doubling an audit row. Every audit row of a reconcile is inserted by `_insert_audit`,
which gives the range of ids it inserted (`ReconcileResult.audit_ids`), so that other
rows derived from them can be filled in the same transaction by INSERT ... SELECT.

`reconcile --at WHEN` is a dry run: what a reconcile at WHEN would switch (a full
sweep, decided one by one), written nowhere.

After downtime it catches up: every window or exemption boundary since the last run
is replayed in order, so the history shows each missed switch at the instant it was
due (`at`) and when it was written (`recorded_at`). Only what the store knew at the last
run is replayed: a window that changed, or an exemption recorded, since then (by the very
write that reconciles) switches flags at now, never at an instant before it was known.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from purdah.decide import Decider, Decision, Grant, Span
from purdah.errors import ConcurrentWrite, StoreBusy
from purdah.models import (
    council_t,
    councillor_t,
    exemption_t,
    meta_t,
    removed_window_t,
    window_t,
)
from purdah.outbox import events as outbox
from purdah.queries import among
from purdah.store import LAST_RECONCILE_KEY, WRITE_LOCK_KEY, Store, as_instant, db_instant

log = logging.getLogger("purdah.reconcile")

P = councillor_t.c
X = exemption_t.c
W = window_t.c
R = removed_window_t.c
LAST_RUN = LAST_RECONCILE_KEY
_NOBODY = -1  # a councillor id with no exemptions: asks the Decider for a council's decision


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
    full: bool = False  # every council was reconciled, not only what changed
    # Why the sweep was full: "asked", "first run", "clock behind the last run", "dry run".
    full_reason: str = ""
    # A full sweep: flag changes of councillors the incremental path would not have
    # reconciled (what it missed; should be 0). None when there is nothing to compare
    # with (no last run, or a clock behind it) or the sweep was not full.
    fixed: int | None = None
    councils: int = 0  # councils reconciled (all of them, or those due)
    councillors: int = 0  # councillors reconciled one by one besides those councils
    audit_ids: tuple[int, int] | None = None  # first and last flag_change id written


@dataclass(slots=True)
class Person:
    """A councillor being decided one by one: the flags read, and as they go."""

    id: int
    council_id: int
    ward: str | None
    agreed_may_post: bool
    created_at: datetime
    read_post: bool
    read_promote: bool
    post: bool
    promote: bool


@dataclass(frozen=True)
class Scope:
    """What this run reconciles: whole councils, and single councillors."""

    councils: frozenset[int]
    people: frozenset[int]
    full: bool
    reason: str = ""


@dataclass
class Missed:
    """Boundaries of (since, now) known at the last run: instant -> who it touches."""

    councils: dict[datetime, set[int]] = field(default_factory=lambda: defaultdict(set))
    people: dict[datetime, set[int]] = field(default_factory=lambda: defaultdict(set))

    def instants(self) -> list[datetime]:
        return sorted(set(self.councils) | set(self.people))


_Spans = dict[int, list[Span]]
_Grants = dict[int, list[Grant]]


@dataclass(frozen=True)
class Inputs:
    """The windows and exemptions of (since, now]: all of them (for the decision at now)
    and those known at the last run (for the catch-up)."""

    spans: _Spans
    grants: _Grants
    known_spans: _Spans
    known_grants: _Grants


def last_run(conn: Connection) -> datetime | None:
    value = conn.execute(sa.select(meta_t.c.value).where(meta_t.c.key == LAST_RUN)).scalar()
    return datetime.fromisoformat(value) if value else None


def grant_of(row: Any) -> Grant:
    return Grant(row.id, row.action, row.start, row.end, row.reason, row.granted_by)


def reconcile(
    store: Store, actor: str = "reconcile", *, skip_if_busy: bool = False, full: bool = False
) -> ReconcileResult:
    """Reconcile at the real instant read once the write lock is held (what changed since
    the last run, or with `full` every council). If the lock stays busy for the store's
    whole bounded wait: StoreBusy, or with `skip_if_busy` (the scheduler) a result marked
    skipped, at the clock's instant."""
    try:
        with store.write() as (conn, now):
            return reconcile_in(conn, now, actor, full=full)
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
    conn: Connection,
    now: datetime,
    actor: str = "reconcile",
    *,
    dry_run: bool = False,
    full: bool = False,
) -> ReconcileResult:
    """reconcile inside an open write transaction (so an import and its reconcile commit
    together); `now` must be the instant the transaction read once it held the lock."""
    if not dry_run:
        _require_lock(conn)
    mark = conn.execute(sa.select(meta_t.c.value).where(meta_t.c.key == LAST_RUN)).scalar()
    last = datetime.fromisoformat(mark) if mark else None
    since = last if last is not None and last < now else now
    incremental = None if last is None or last > now else _touched(conn, since, now)
    scope = _scope(conn, incremental, last, now, full=full, dry_run=dry_run)
    if not scope.councils and not scope.people:  # the common tick: nothing can have moved
        if not dry_run:
            _set_last_run(conn, mark, now)
        fixed = 0 if scope.full and incremental is not None and not dry_run else None
        return ReconcileResult(
            now, dry_run=dry_run, full=scope.full, full_reason=scope.reason, fixed=fixed
        )

    missed = _missed(conn, since, now)
    inputs = _inputs(conn, scope, since, now)
    batch, single = _split(scope, inputs, dry_run=dry_run)
    people = _load_people(conn, single)
    changes = _decide_singly(people, missed, inputs, now)
    written, audit_ids = changes, None
    refs: dict[int, str] = {}
    if not dry_run:
        written, audit_ids, refs = _write(conn, now, actor, people, changes, batch, missed, inputs)
        _set_last_run(conn, mark, now)
    refs |= _refs(conn, {c.councillor_id for c in changes})  # those decided one by one
    fixed = None
    if scope.full and incremental is not None and not dry_run:
        fixed = _missed_by_incremental(conn, written, incremental)
        if fixed:
            log.error(
                "the full sweep fixed %d flag changes that the incremental reconcile had "
                "missed: a write changed a decision input without the stamp reconcile reads",
                fixed,
            )
    return ReconcileResult(
        now,
        written,
        len(missed.instants()),
        dry_run=dry_run,
        refs=refs,
        full=scope.full,
        full_reason=scope.reason,
        fixed=fixed,
        councils=len(scope.councils),
        councillors=len(scope.people),
        audit_ids=audit_ids,
    )


def _require_lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        # Store.write took it already; re-entrant, so this only proves it is held.
        got = conn.execute(sa.select(sa.func.pg_try_advisory_xact_lock(WRITE_LOCK_KEY))).scalar()
        if not got:
            raise ConcurrentWrite("reconcile ran outside a write transaction holding the lock")


# -- step 1: what is due ---------------------------------------------------------------


_TOUCHED_COUNCILS = (
    'SELECT council_id FROM "window" WHERE start > :since AND start <= :now '
    'UNION SELECT council_id FROM "window" WHERE "end" > :since AND "end" <= :now '
    'UNION SELECT council_id FROM "window" WHERE changed_at >= :since '
    "UNION SELECT council_id FROM removed_window WHERE removed_at >= :since"
)
_TOUCHED_PEOPLE = (
    "SELECT councillor_id FROM exemption WHERE start > :since AND start <= :now "
    'UNION SELECT councillor_id FROM exemption WHERE "end" > :since AND "end" <= :now '
    "UNION SELECT councillor_id FROM exemption WHERE created_at >= :since "
    "UNION SELECT id FROM councillor WHERE created_at >= :since "
    "UNION SELECT id FROM councillor WHERE changed_at >= :since"
)


def _touched(conn: Connection, since: datetime, now: datetime) -> Scope:
    """The councils and councillors a boundary in (since, now] or a write since `since`
    touched (every column read is indexed). A write stamped at `since` itself was
    reconciled by the run that set the mark (every write that stamps reconciles in its
    own transaction, and the mark's run at that instant was the last), so from a later
    instant the stamps are matched after `since`; at the same instant (two writes may
    share one) from `since` inclusive. Plain driver SQL: this is the idle tick's cost."""
    convert = db_instant(conn.dialect.name)
    params = {"since": convert(since), "now": convert(now)}
    found = []
    for sql in (_TOUCHED_COUNCILS, _TOUCHED_PEOPLE):
        if since < now:
            sql = sql.replace(">= :since", "> :since")
        cursor = conn.exec_driver_sql(_driver(conn, sql), params).cursor
        assert cursor is not None
        found.append(frozenset(row[0] for row in cursor.fetchall()))
    return Scope(found[0], found[1], full=False)


def _driver(conn: Connection, sql: str) -> str:
    """`:name` parameters in the driver's style (sqlite3 takes them as they are)."""
    if conn.dialect.name == "postgresql":
        return re.sub(r":(\w+)", r"%(\1)s", sql)
    return sql


def _scope(
    conn: Connection,
    incremental: Scope | None,
    last: datetime | None,
    now: datetime,
    *,
    full: bool,
    dry_run: bool,
) -> Scope:
    if dry_run:
        reason = "dry run"
    elif full:
        reason = "asked"
    elif last is None:
        reason = "first run"
    elif last > now:
        reason = "clock behind the last run"
    else:
        assert incremental is not None
        return _by_council(conn, incremental)
    every = frozenset(conn.execute(sa.select(council_t.c.id)).scalars())
    return Scope(every, frozenset(), True, reason)


def _council_of(conn: Connection, ids: Iterable[int]) -> dict[int, int]:
    """Councillor id -> council id, for `ids` (many: the whole table is read)."""
    wanted = sorted(ids)
    if not wanted:
        return {}
    if len(wanted) > _FEW:
        sql, params = "SELECT id, council_id FROM councillor", ()
    else:
        sql = f"SELECT id, council_id FROM councillor WHERE id IN ({', '.join(map(str, wanted))})"
        params = ()
    cursor = conn.exec_driver_sql(sql, params).cursor
    assert cursor is not None
    found = set(wanted)
    return {pid: cid for pid, cid in cursor.fetchall() if pid in found}


def _by_council(conn: Connection, scope: Scope) -> Scope:
    """Councillors due on their own whose council is due whole are left to it; and when
    many are due on their own (a register imported), their councils are due whole."""
    council_of = _council_of(conn, scope.people)
    councils = scope.councils
    if len(scope.people) > _FEW:
        councils = councils | frozenset(council_of.values())
    people = frozenset(pid for pid in scope.people if council_of.get(pid) not in councils)
    return Scope(councils, people, False)


def _missed(conn: Connection, since: datetime, now: datetime) -> Missed:
    """Boundaries of (since, now) of windows and exemptions known at `since`."""
    missed = Missed()
    if since >= now:
        return missed
    for owner, start, end in conn.execute(
        _boundaries(W.council_id, W.start, W.end, W.changed_at, since, now)
    ):
        for instant in (start, end):
            if since < instant < now:
                missed.councils[instant].add(owner)
    for owner, start, end in conn.execute(
        _boundaries(X.councillor_id, X.start, X.end, X.created_at, since, now)
    ):
        for instant in (start, end):
            if since < instant < now:
                missed.people[instant].add(owner)
    return missed


def _boundaries(
    owner: Any, start: Any, end: Any, known: Any, since: datetime, now: datetime
) -> Any:
    """Rows known at `since` (`known` not after it) with a start or an end in (since, now)."""
    return sa.union_all(
        sa.select(owner, start, end).where(
            sa.or_(known.is_(None), known <= since), start > since, start < now
        ),
        sa.select(owner, start, end).where(
            sa.or_(known.is_(None), known <= since),
            end > since,
            end < now,
            sa.not_(sa.and_(start > since, start < now)),
        ),
    )


_FEW = 2000  # up to this many ids go in an IN list; more, and the whole range is read


def _inputs(conn: Connection, scope: Scope, since: datetime, now: datetime) -> Inputs:
    """The windows and exemptions of (since, now] for what is being reconciled."""
    people_councils = set(_council_of(conn, scope.people).values())
    councils = scope.councils | people_councils
    spans: _Spans = defaultdict(list)
    known_spans: _Spans = defaultdict(list)
    for council_id, span, changed_at in _spans(conn, councils, since, now):
        spans[council_id].append(span)
        if changed_at is None or changed_at <= since:
            known_spans[council_id].append(span)
    grants_q = sa.select(exemption_t, P.council_id).join_from(
        exemption_t, councillor_t, X.councillor_id == P.id
    )
    grants_q = grants_q.where(X.end > since, X.start <= now, P.left_at.is_(None))
    grants_q = grants_q.order_by(X.id)  # the cause: the first recorded of those in force
    grants: _Grants = defaultdict(list)
    known_grants: _Grants = defaultdict(list)
    for row in conn.execute(grants_q):
        if row.council_id not in scope.councils and row.councillor_id not in scope.people:
            continue
        grant = grant_of(row)
        grants[row.councillor_id].append(grant)
        if row.created_at <= since:
            known_grants[row.councillor_id].append(grant)
    return Inputs(spans, grants, known_spans, known_grants)


_SPANS = (
    'SELECT w.council_id, e.election_id, w.start, w."end", w.ward, w.start_basis, '
    "w.end_basis, w.actual_notice, w.rule, w.notes, w.run_up_start, w.last_day, "
    'w.run_up_note, e.notice, w.changed_at FROM "window" w JOIN election e '
    'ON e.id = w.election_pk WHERE w."end" > :since AND w.start <= :now'
)
# A cause lists the windows in force in the order read: by start, then election (as
# status lists them), never the store's row order (PostgreSQL's moves with updates, and
# with the plan), or the same decision reads differently from one reconcile to another.
_SPANS_ORDER = " ORDER BY w.start, e.election_id, w.id"


def _spans(
    conn: Connection, councils: frozenset[int], since: datetime, now: datetime
) -> Iterator[tuple[int, Span, datetime | None]]:
    """The windows of (since, now] (of `councils`, or all when many) as `Span`s, read with
    the driver: many share their instants and dates, each converted once."""
    convert = db_instant(conn.dialect.name)
    sql = _SPANS
    if len(councils) <= _FEW:
        sql += f" AND w.council_id IN ({', '.join(map(str, sorted(councils))) or 'NULL'})"
    sql += _SPANS_ORDER
    cursor = conn.exec_driver_sql(
        _driver(conn, sql), {"since": convert(since), "now": convert(now)}
    ).cursor
    assert cursor is not None
    seen: dict[Any, Any] = {None: None}

    def instant(value: Any) -> Any:
        found = seen.get(value, seen)
        if found is seen:
            found = seen[value] = as_instant(value)
        return found

    def day(value: Any) -> Any:
        if isinstance(value, str):
            found = seen.get(value, seen)
            if found is seen:
                found = seen[value] = date.fromisoformat(value)
            return found
        return value

    for row in cursor.fetchall():
        span = Span(
            row[1],
            instant(row[2]),
            instant(row[3]),
            row[4],
            row[5],
            row[6],
            bool(row[7]),
            row[8],
            row[9],
            instant(row[10]),
            day(row[11]),
            row[12],
            day(row[13]),
        )
        yield row[0], span, instant(row[14])


@dataclass(frozen=True)
class Split:
    """Councils decided once for all their councillors (but those decided one by one)."""

    councils: frozenset[int]


def _split(scope: Scope, inputs: Inputs, *, dry_run: bool) -> tuple[Split, Scope]:
    """Councils with a ward-scoped window, councillors with an exemption and those due on
    their own (added, edited, an exemption's boundary) are decided one by one (and a dry
    run decides everyone so, writing nothing); every other council due, once."""
    if dry_run:
        return Split(frozenset()), scope
    ward_scoped = frozenset(
        cid for cid in scope.councils if any(s.ward is not None for s in inputs.spans.get(cid, ()))
    )
    singles = frozenset(inputs.grants) | scope.people
    return Split(scope.councils - ward_scoped), Scope(ward_scoped, singles, scope.full)


# -- step 2: councillors decided one by one --------------------------------------------

# Councillors in office: one who left (left_at) keeps the flags and history they had.
_PEOPLE = sa.select(
    P.id,
    P.council_id,
    P.ward,
    P.agreed_may_post,
    P.created_at,
    P.may_post,
    P.may_promote,
).where(P.left_at.is_(None))


def _load_people(conn: Connection, single: Scope) -> dict[int, Person]:
    people: dict[int, Person] = {}
    queries = []
    if single.councils:
        queries.append(
            _PEOPLE.where(among(P.council_id, single.councils))
            if len(single.councils) <= _FEW
            else _PEOPLE
        )
    if single.people:
        queries.append(_PEOPLE.where(among(P.id, single.people)))
    for query in queries:
        for row in conn.execute(query):
            if row.council_id in single.councils or row.id in single.people:
                people[row.id] = Person(
                    row.id,
                    row.council_id,
                    row.ward,
                    row.agreed_may_post,
                    row.created_at,
                    row.may_post,
                    row.may_promote,
                    row.may_post,
                    row.may_promote,
                )
    return dict(sorted(people.items()))


def _decide_singly(
    people: dict[int, Person], missed: Missed, inputs: Inputs, now: datetime
) -> list[Change]:
    """Each missed boundary in order (as known at the last run), then now."""
    changes: list[Change] = []
    if not people:
        return changes
    by_council: dict[int, list[Person]] = defaultdict(list)
    for person in people.values():
        by_council[person.council_id].append(person)
    for instant in missed.instants():
        decider = Decider(instant, inputs.known_spans, inputs.known_grants)
        due = {p.id: p for cid in missed.councils.get(instant, ()) for p in by_council.get(cid, ())}
        due.update({pid: people[pid] for pid in missed.people.get(instant, ()) if pid in people})
        for pid in sorted(due):
            if due[pid].created_at <= instant:  # no history from before registration
                _evaluate(due[pid], decider, changes)
    decider = Decider(now, inputs.spans, inputs.grants)
    for person in people.values():
        _evaluate(person, decider, changes)
    return changes


def _evaluate(person: Person, decider: Decider, changes: list[Change]) -> None:
    post, promote = decider.pair(person.council_id, person.id, person.ward, person.agreed_may_post)
    if post.allowed != person.post:
        changes.append(
            Change(person.id, "may_post", person.post, post.allowed, decider.t, post.cause)
        )
        person.post = post.allowed
    if promote.allowed != person.promote:
        changes.append(
            Change(
                person.id, "may_promote", person.promote, promote.allowed, decider.t, promote.cause
            )
        )
        person.promote = promote.allowed


# -- step 3: writing -------------------------------------------------------------------

# Temporary tables (per connection): the decisions of one step per council, the
# councillors reconciled singly in a set-based step, and the changes of this write.
_DECISION = "purdah_reconcile_decision"
_PERSON = "purdah_reconcile_person"
_CHANGE = "purdah_reconcile_change"
_TEMP = {
    _DECISION: "(council_id INTEGER PRIMARY KEY, "
    "agreed_post BOOLEAN NOT NULL, agreed_post_cause TEXT NOT NULL, "
    "other_post BOOLEAN NOT NULL, other_post_cause TEXT NOT NULL, "
    "promote BOOLEAN NOT NULL, promote_cause TEXT NOT NULL)",
    _PERSON: "(id INTEGER PRIMARY KEY)",
    _CHANGE: "(seq {serial}, step INTEGER NOT NULL, councillor_id INTEGER NOT NULL, "
    "old_post BOOLEAN NOT NULL, old_promote BOOLEAN NOT NULL, "
    "new_post BOOLEAN NOT NULL, new_promote BOOLEAN NOT NULL, "
    "post_cause TEXT NOT NULL, promote_cause TEXT NOT NULL, at {instant} NOT NULL, ref TEXT)",
}


def _write(
    conn: Connection,
    now: datetime,
    actor: str,
    people: dict[int, Person],
    changes: list[Change],
    batch: Split,
    missed: Missed,
    inputs: Inputs,
) -> tuple[list[Change], tuple[int, int] | None, dict[int, str]]:
    """Switch the flags (the councillors decided one by one, then the councils decided
    once), stage every change, and write the audit: the changes written, the range of
    audit ids, and the refs of the councillors decided once."""
    staged = _Stage(conn, now, actor)
    staged.singles(people, changes)
    staged.batches(batch, missed, inputs, people)
    audit_ids = _insert_audit(conn, now, actor)
    written, refs = staged.changes_written()
    return written, audit_ids, refs


class _Stage:
    """Stages this write's changes in the change table, step by step, switching the
    flags with updates conditional on the flags read."""

    def __init__(self, conn: Connection, now: datetime, actor: str) -> None:
        self.conn = conn
        self.now = now
        self.actor = actor
        self.pg = conn.dialect.name == "postgresql"
        self.marker = "%s" if self.pg else "?"
        self.convert = db_instant(conn.dialect.name)
        self.recorded = self.convert(now)
        self.step = 0
        self.instants: dict[int, datetime] = {}  # a set-based step -> the instant it decided
        self.singles_staged: list[Change] = []
        _temp_tables(conn)

    def run(self, sql: str, params: Any = ()) -> Any:
        return self.conn.exec_driver_sql(sql.replace("?", self.marker), params)

    def singles(self, people: dict[int, Person], changes: list[Change]) -> None:
        """Councillors decided one by one: one update each from the flags read to the
        final ones; their changes staged as step 0, one row per change."""
        updates = [
            (p.post, p.promote, self.recorded, p.id, p.read_post, p.read_promote)
            for p in people.values()
            if (p.read_post, p.read_promote) != (p.post, p.promote)
        ]
        matched = 0
        if updates:
            matched = self.run(
                "UPDATE councillor SET may_post = ?, may_promote = ?, flags_at = ? "
                "WHERE id = ? AND may_post = ? AND may_promote = ?",
                updates,
            ).rowcount
        _require_matched(matched, len(updates))
        rows = []
        for c in changes:
            post = c.flag == "may_post"
            old_post, new_post = (c.old, c.new) if post else (True, True)
            old_promote, new_promote = (True, True) if post else (c.old, c.new)
            rows.append(
                (
                    0,
                    c.councillor_id,
                    old_post,
                    old_promote,
                    new_post,
                    new_promote,
                    c.cause,
                    c.cause,
                    self.convert(c.at),
                )
            )
        if rows:
            self.run(
                f"INSERT INTO {_CHANGE} (step, councillor_id, old_post, old_promote, new_post, "
                "new_promote, post_cause, promote_cause, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        self.singles_staged = changes

    def batches(self, split: Split, missed: Missed, inputs: Inputs, singles: Iterable[int]) -> None:
        """Whole councils: each missed boundary (as known at the last run), then now,
        decided once per council and switched by set-based statements (leaving out the
        councillors decided one by one)."""
        if not split.councils:
            return
        ids = [(pid,) for pid in singles]
        if ids:
            self.run(f"INSERT INTO {_PERSON} (id) VALUES (?)", ids)
        for instant in missed.instants():
            due = split.councils & missed.councils.get(instant, set())
            if due:
                self._step(Decider(instant, inputs.known_spans, {}), due, instant, gate=True)
        self._step(Decider(self.now, inputs.spans, {}), split.councils, self.now, gate=False)

    def _step(self, decider: Decider, councils: frozenset[int], at: datetime, gate: bool) -> None:
        self.step += 1
        self.instants[self.step] = at
        self.run(f"DELETE FROM {_DECISION}")
        rows = []
        # Councils with the same windows in force share one decision (the Decider keeps
        # it, so its identity names it): its row is made once.
        row_of: dict[int, tuple[Any, ...]] = {}
        for cid in sorted(councils):
            decided = decider.council(cid, _NOBODY)
            row = row_of.get(id(decided))
            if row is None:
                row = row_of[id(decided)] = _decision_row(*decided)
            rows.append((cid, *row))
        self.run(f"INSERT INTO {_DECISION} VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        new_post = "CASE WHEN p.agreed_may_post THEN d.agreed_post ELSE d.other_post END"
        post_cause = (
            "CASE WHEN p.agreed_may_post THEN d.agreed_post_cause ELSE d.other_post_cause END"
        )
        created = "AND p.created_at <= ? " if gate else ""
        staged = self.run(
            f"INSERT INTO {_CHANGE} (step, councillor_id, old_post, old_promote, new_post, "
            "new_promote, post_cause, promote_cause, at, ref) "
            f"SELECT ?, p.id, p.may_post, p.may_promote, {new_post}, d.promote, "
            f"{post_cause}, d.promote_cause, ?, k.slug || '/' || p.slug "
            f"FROM {_DECISION} d JOIN councillor p ON p.council_id = d.council_id "
            "JOIN council k ON k.id = p.council_id "
            f"WHERE p.left_at IS NULL {created}"
            f"AND p.id NOT IN (SELECT id FROM {_PERSON}) "
            f"AND (p.may_post <> {new_post} OR p.may_promote <> d.promote) "
            "ORDER BY p.id",
            (self.step, self.convert(at), *((self.convert(at),) if gate else ())),
        ).rowcount
        if staged:
            _switch(self.conn, self.step, staged, self.recorded)

    def changes_written(self) -> tuple[list[Change], dict[int, str]]:
        """Every change staged (those decided one by one, then the set-based ones, each
        in order), and the COUNCIL/SLUG of the set-based ones' councillors (staged with
        them). One pass over the staged rows: each step's instant is known here, and a
        row holds both flags, so a Change is built only for a flag that changed."""
        changes = list(self.singles_staged)
        refs: dict[int, str] = {}
        instants = self.instants
        add = changes.append
        cursor = self.run(
            "SELECT councillor_id, step, ref, old_post, new_post, old_promote, new_promote, "
            f"post_cause, promote_cause FROM {_CHANGE} WHERE step > 0 ORDER BY seq"
        ).cursor
        assert cursor is not None
        for (
            pid,
            step,
            ref,
            old_post,
            new_post,
            old_promote,
            new_promote,
            post_why,
            promote_why,
        ) in cursor.fetchall():
            refs[pid] = ref
            when = instants[step]
            if old_post != new_post:
                add(Change(pid, "may_post", _BOOL[old_post], _BOOL[new_post], when, post_why))
            if old_promote != new_promote:
                add(
                    Change(
                        pid,
                        "may_promote",
                        _BOOL[old_promote],
                        _BOOL[new_promote],
                        when,
                        promote_why,
                    )
                )
        if self.singles_staged and len(changes) > len(self.singles_staged):
            changes.sort(key=lambda c: (c.at, c.councillor_id, c.flag))  # both: in time order
        return changes, refs


_BOOL = (False, True)  # a stored flag (SQLite's 0 or 1, PostgreSQL's bool) as a bool


def _switch(conn: Connection, step: int, staged: int, recorded: Any) -> None:
    """Switch the flags of a set-based step's staged changes, each update conditional on
    the flags its staging read: a flag changed since (by a writer without the lock) is
    ConcurrentWrite, and the write rolls back."""
    marker = "%s" if conn.dialect.name == "postgresql" else "?"
    matched = conn.exec_driver_sql(
        f"UPDATE councillor SET may_post = c.new_post, may_promote = c.new_promote, "
        f"flags_at = {marker} FROM {_CHANGE} c WHERE c.step = {marker} "
        "AND councillor.id = c.councillor_id "
        "AND councillor.may_post = c.old_post AND councillor.may_promote = c.old_promote",
        (recorded, step),
    ).rowcount
    _require_matched(matched, staged)


def _decision_row(agreed: Decision, other: Decision, promote: Decision) -> tuple[Any, ...]:
    return (
        agreed.allowed,
        agreed.cause,
        other.allowed,
        other.cause,
        promote.allowed,
        promote.cause,
    )


def _temp_tables(conn: Connection) -> None:
    """Create the temporary tables if this connection has none yet, and empty them."""
    pg = conn.dialect.name == "postgresql"
    serial = "BIGSERIAL PRIMARY KEY" if pg else "INTEGER PRIMARY KEY"
    instant = "TIMESTAMPTZ" if pg else "TEXT"
    for name, columns in _TEMP.items():
        conn.exec_driver_sql(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {name} "
            + columns.format(serial=serial, instant=instant)
        )
        conn.exec_driver_sql(f"DELETE FROM {name}")


def _require_matched(matched: int, expected: int) -> None:
    if matched != expected:
        raise ConcurrentWrite(
            f"{expected - matched} of {expected} councillors' flags changed under this "
            "write: nothing recorded; retry"
        )


def _insert_audit(conn: Connection, now: datetime, actor: str) -> tuple[int, int] | None:
    """The one place a reconcile writes its audit: one flag_change row per change staged
    (in the order staged, post before promote), recorded at `now` by `actor`. Returns the
    first and last id it inserted (None if none): every id in that range is one of this
    write's audit rows, so rows derived from them can be added by INSERT ... SELECT
    `WHERE id BETWEEN first AND last`."""
    marker = "%s" if conn.dialect.name == "postgresql" else "?"
    before = conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM flag_change").scalar()
    recorded = db_instant(conn.dialect.name)(now)
    columns = "councillor_id, flag, old, new, at, recorded_at, cause, actor"
    # Each staged row read once, in seq order, paired with its two flags (k = 0, 1): the
    # rows come out already in (seq, k) order but for k, which SQLite sorts in pairs,
    # where a union of the two flags' rows would be sorted whole.
    inserted = conn.exec_driver_sql(
        f"INSERT INTO flag_change ({columns}) "
        "SELECT c.councillor_id, CASE f.k WHEN 0 THEN 'may_post' ELSE 'may_promote' END, "
        "CASE f.k WHEN 0 THEN c.old_post ELSE c.old_promote END, "
        f"CASE f.k WHEN 0 THEN c.new_post ELSE c.new_promote END, c.at, {marker}, "
        f"CASE f.k WHEN 0 THEN c.post_cause ELSE c.promote_cause END, {marker} "
        f"FROM {_CHANGE} c CROSS JOIN (SELECT 0 AS k UNION ALL SELECT 1) f "
        "WHERE CASE f.k WHEN 0 THEN c.old_post <> c.new_post "
        "ELSE c.old_promote <> c.new_promote END ORDER BY c.seq, f.k",
        (recorded, actor),
    ).rowcount
    if not inserted:
        return None
    first, last, count = conn.exec_driver_sql(
        f"SELECT min(id), max(id), count(*) FROM flag_change WHERE id > {marker}", (before,)
    ).one()
    if count != inserted or last - first + 1 != inserted:
        raise ConcurrentWrite(
            f"the audit gained {count} rows for the {inserted} this write inserted: "
            "another writer wrote under the lock; nothing recorded; retry"
        )
    outbox.record_flag_changes(conn, int(before or 0), now)  # same transaction as the switch
    return int(first), int(last)


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


def _missed_by_incremental(conn: Connection, changes: list[Change], incremental: Scope) -> int:
    """Changes of a full sweep to councillors the incremental path would not have touched."""
    ids = {c.councillor_id for c in changes} - incremental.people
    if not ids:
        return 0
    query = sa.select(P.id, P.council_id)
    if len(ids) <= _FEW:
        query = query.where(among(P.id, ids))
    council_of = {pid: cid for pid, cid in conn.execute(query)}
    outside = {pid for pid in ids if council_of.get(pid) not in incremental.councils}
    return sum(1 for c in changes if c.councillor_id in outside)


def _refs(conn: Connection, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    query = sa.select(P.id, council_t.c.slug, P.slug).join_from(
        councillor_t, council_t, P.council_id == council_t.c.id
    )
    if len(ids) <= _FEW:
        query = query.where(among(P.id, ids))
    rows = conn.exec_driver_sql(*_compiled(conn, query))
    return {pid: f"{council}/{slug}" for pid, council, slug in rows if pid in ids}


def _compiled(conn: Connection, query: Any) -> tuple[str, Any]:
    """A select as driver SQL and parameters (no per-row result processing)."""
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
    return str(compiled), ()
