"""May I promote this councillor now? The hot path: one SQL statement (plus one for
exemptions only when a window is in force), then the pure `decide`.

It answers from the windows as of WHEN, never from the switched flags, so it is right
even if the scheduler was down at a boundary; a stored flag that differs is reported as
a fault. It runs as plain SQL through `Store.query` (the standard library's sqlite3 on
SQLite), so `purdah check` never imports SQLAlchemy or SQLModel on the embedded store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from purdah.decide import Action, Decision, Grant, RunUpWarning, Span, decide, run_up_warnings
from purdah.errors import NotFound
from purdah.refs import split_ref
from purdah.store import LAST_RECONCILE_KEY, Store, as_instant

# "window" and "end" are keywords in SQLite and PostgreSQL: always quoted.
# One statement: the councillor, the windows in force or in their run-up (for the
# warnings), and when the stored flags were last reconciled (to know whether they should
# agree with the answer).
_CHECK_SQL = f"""
SELECT p.id, p.name, p.ward, p.agreed_may_post, p.may_post, p.may_promote,
       (SELECT value FROM meta WHERE key = '{LAST_RECONCILE_KEY}'),
       e.election_id, w.start, w."end", w.ward, w.start_basis, w.end_basis,
       w.actual_notice, w.rule, w.notes, w.run_up_start, w.last_day, w.run_up_note, e.notice
FROM councillor p
JOIN council c ON c.id = p.council_id
LEFT JOIN "window" w
    ON w.council_id = p.council_id AND w.watch_from <= :at AND w."end" > :at
LEFT JOIN election e ON e.id = w.election_pk
WHERE c.slug = :council AND p.slug = :slug
ORDER BY w.start, e.election_id
"""
_GRANTS_SQL = """
SELECT id, action, start, "end", reason, granted_by FROM exemption
WHERE councillor_id = :pid AND start <= :at AND "end" > :at ORDER BY id
"""
_COUNCIL_SQL = "SELECT id FROM council WHERE slug = :council"
_LAST_RUN_SQL = f"SELECT value FROM meta WHERE key = '{LAST_RECONCILE_KEY}'"


@dataclass(frozen=True)
class CheckAnswer:
    councillor: str
    name: str
    action: Action
    at: datetime
    decision: Decision
    stored_flag: bool
    comparable: bool = True  # whether the stored flag is meant to hold at `at`
    # The run-up before a window the council's policy does not restrict in ("yes, but").
    warnings: tuple[RunUpWarning, ...] = ()
    # The councillor's own agreement to post on the council's accounts, whatever the action.
    agreed_may_post: bool = False

    @property
    def allowed(self) -> bool:
        return self.decision.allowed

    @property
    def mismatch(self) -> bool | None:
        """The stored flag disagrees with the answer: a fault (None: not comparable)."""
        if not self.comparable:
            return None
        return self.stored_flag != self.decision.allowed


def stored_flags_apply(last_run: datetime | None, at: datetime, now: datetime | None) -> bool:
    """The stored flags claim to be right from the last reconcile until now; an answer for
    another instant cannot be compared with them. Without `now`, always compare."""
    if now is None:
        return True
    return last_run is not None and last_run <= at <= now


def last_reconcile(store: Store) -> datetime | None:
    rows = store.query(_LAST_RUN_SQL, {})
    return datetime.fromisoformat(rows[0][0]) if rows else None


def check(
    store: Store, ref: str, action: Action, at: datetime, now: datetime | None = None
) -> CheckAnswer:
    """The answer at `at`. Give `now` (the real clock) to compare with the stored flag only
    where it should hold."""
    council, slug = split_ref(ref)
    rows = store.query(_CHECK_SQL, {"at": at, "council": council, "slug": slug})
    if not rows:
        if not store.query(_COUNCIL_SQL, {"council": council}):
            raise NotFound(f"no council {council!r} in the register: see 'purdah council list'")
        raise NotFound(
            f"no councillor {slug!r} in council {council!r}: see "
            f"'purdah councillor list --council {council}'"
        )
    pid, name, ward, agreed, may_post, may_promote, last_run = rows[0][:7]
    found = [
        Span(
            r[7],
            as_instant(r[8]),
            as_instant(r[9]),
            r[10],
            r[11],
            r[12],
            bool(r[13]),
            r[14],
            r[15],
            as_instant(r[16]) if r[16] is not None else None,
            _day(r[17]),
            r[18] or "",
            _day(r[19]),
        )
        for r in rows
        if r[7] is not None
    ]
    spans = [s for s in found if s.start <= at]
    warnings = run_up_warnings(at, ward, [s for s in found if s.start > at])
    grants = []
    if spans:  # exemptions matter only while a window is in force
        grants = [
            Grant(g[0], g[1], as_instant(g[2]), as_instant(g[3]), g[4], g[5])
            for g in store.query(_GRANTS_SQL, {"pid": pid, "at": at})
        ]
    decision = decide(
        action, at, ward=ward, agreed_may_post=bool(agreed), spans=spans, grants=grants
    )
    stored = bool(may_post if action is Action.POST else may_promote)
    last = datetime.fromisoformat(last_run) if last_run else None
    comparable = stored_flags_apply(last, at, now)
    return CheckAnswer(
        f"{council}/{slug}",
        name,
        action,
        at,
        decision,
        stored,
        comparable,
        warnings,
        bool(agreed),
    )


def _day(value: object) -> date | None:
    """A date read with plain SQL: SQLite text or a date."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))
