"""Property: under any sequence of writes (reconcile, election add/cancel/move/notice,
import, exemptions, non-working days, dry runs) at any clock values (including writes at
the very same instant), the audit log is exact. Checked against a small model of
reconcile written here from the rules, not from purdah's code:

- each write's audit rows are exactly the model's: for every councillor, from the stored
  flags before the write, one switch at each boundary between the last reconcile and now
  of its council's windows and its own exemptions that were known at the last reconcile
  (decided with those alone) where the decision changes, then one at now (decided with
  everything); each stamped with the write's instant;
- the stored flags after each write are the model's decision at the write's instant;
- a write that fails, and a dry run, change nothing;
- at the end, the history replays to the stored flags and recorded_at never goes back.

Runs on SQLite and PostgreSQL. PURDAH_PROPERTY_EXAMPLES (default 15) sets how many
random sequences hypothesis tries; pytest -s prints what was tried:
    PURDAH_PROPERTY_EXAMPLES=300 .venv/bin/python -m pytest -s tests/test_audit_property.py
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from purdah.clock import LONDON
from purdah.decide import Action, ward_slug
from purdah.errors import PurdahError
from purdah.models import (
    councillor_t,
    election_t,
    exemption_t,
    flag_change_t,
    meta_t,
    window_t,
)
from purdah.services.elections import (
    add_election,
    add_non_working_day,
    cancel_election,
    move_election,
    set_notice,
)
from purdah.services.history import exempt
from purdah.services.importer import ImportOptions, import_sources
from purdah.services.reconcile import last_run, reconcile, reconcile_dry_run
from tests.invariants import check_invariants
from tests.services.helpers import nottinghamshire

EXAMPLES = int(os.environ.get("PURDAH_PROPERTY_EXAMPLES", "15"))
BASE = datetime(2026, 3, 1, 9, tzinfo=LONDON)
ELECTIONS = [
    "local.selston.2026-05-07",
    "local.ashfield.2026-05-07",
    "local.selston.underwood.by.2026-04-16",
    "local.gedling.2026-06-04",
    "local.nottinghamshire.by.2026-05-21",
]
POLL_DAYS = [date(2026, 4, 23), date(2026, 5, 14), date(2026, 6, 11), date(2026, 7, 2)]
PEOPLE = ["selston/jane-doe", "selston/sam-roe", "selston/mayor", "gedling/ann-other"]
STEPS = [
    timedelta(0),
    timedelta(microseconds=1),
    timedelta(seconds=1),
    timedelta(hours=1),
    timedelta(days=1),
    timedelta(days=9),
    timedelta(days=25),
]
OFFSETS = [timedelta(days=-3), timedelta(hours=-1), timedelta(0), timedelta(seconds=1)]
SPANS = [timedelta(microseconds=1), timedelta(seconds=1), timedelta(hours=5), timedelta(days=12)]
TABLES = [
    "outbox_attempt",
    "outbox_delivery",
    "outbox_event",
    "flag_change",
    "exemption",
    "window",
    "election",
    "councillor",
    "council_area",
    "council",
    "non_working_day",
    "meta",
    "feed",
]

op = st.one_of(
    st.tuples(st.just("reconcile")),
    st.tuples(st.just("add"), st.sampled_from(ELECTIONS)),
    # cancel, move and notice pick the n-th poll recorded by then (modulo how many)
    st.tuples(st.just("cancel"), st.integers(0, 9)),
    st.tuples(st.just("move"), st.integers(0, 9), st.sampled_from(POLL_DAYS)),
    st.tuples(st.just("notice"), st.integers(0, 9), st.integers(10, 40)),
    st.tuples(
        st.just("exempt"),
        st.sampled_from(PEOPLE),
        st.sampled_from(list(Action)),
        st.sampled_from(OFFSETS),
        st.sampled_from(SPANS),
    ),
    st.tuples(st.just("import"), st.sets(st.sampled_from(POLL_DAYS), min_size=1)),
    st.tuples(st.just("non-working-day"), st.sampled_from(POLL_DAYS)),
    st.tuples(st.just("dry-run"), st.sampled_from(STEPS + [-s for s in STEPS])),
)
# Writes at the very same instant are where a unique key on (councillor, flag, at, new)
# dropped real switches: ask for them often. Re-importing a calendar withdraws and
# reinstates polls, so it switches flags back and forth: ask for it often too.
ADVANCE = st.sampled_from([timedelta(0)] * 4 + STEPS)
IMPORT = st.tuples(st.just("import"), st.sets(st.sampled_from(POLL_DAYS), min_size=1))
steps = st.lists(st.tuples(ADVANCE, st.one_of(op, IMPORT)), min_size=1, max_size=14)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _snapshot(conn) -> tuple:
    return tuple(
        conn.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
        for table in (councillor_t, flag_change_t, meta_t, window_t, exemption_t)
    )


def _model(conn, before: dict, since: datetime, now: datetime) -> tuple[Counter, dict]:
    """The audit rows and flags a reconcile at `now` must produce (see the module doc)."""
    windows: dict[int, list] = {}
    for w in conn.execute(sa.select(window_t)):
        windows.setdefault(w.council_id, []).append(w)
    grants: dict[int, list] = {}
    for g in conn.execute(sa.select(exemption_t)):
        grants.setdefault(g.councillor_id, []).append(g)
    expected: Counter = Counter()
    flags = {}
    for p in conn.execute(sa.select(councillor_t)):
        every = (windows.get(p.council_id, []), grants.get(p.id, []))
        known = (  # what the store knew at the last reconcile
            [w for w in every[0] if w.changed_at is None or w.changed_at <= since],
            [g for g in every[1] if g.created_at <= since],
        )

        def decide(t, spans, p=p):
            own_windows, own_grants = spans
            restricted = any(
                w.start <= t < w.end and (w.ward is None or w.ward == ward_slug(p.ward))
                for w in own_windows
            )

            def exempt_for(action):
                return any(g.action == action and g.start <= t < g.end for g in own_grants)

            post = p.agreed_may_post and (not restricted or exempt_for("post"))
            return (post, not restricted or exempt_for("promote"))

        state = before[p.id]
        edges = {
            x
            for span in (*known[0], *known[1])
            for x in (span.start, span.end)
            if since < x < now and x >= p.created_at
        }
        for t in [*sorted(edges), now]:
            decided = decide(t, known if t < now else every)
            for flag, old, new in zip(("may_post", "may_promote"), state, decided, strict=True):
                if old != new:
                    expected[(p.id, flag, old, new, t)] += 1
            state = decided
        flags[p.id] = state
    return expected, flags


def _apply(store, tmp_path, step) -> None:
    kind, *args = step
    if kind in ("cancel", "move", "notice"):
        with store.read() as conn:
            recorded = (
                conn.execute(sa.select(election_t.c.election_id).order_by(election_t.c.id))
                .scalars()
                .all()
            )
        if not recorded:
            raise PurdahError("no poll recorded yet")
        args[0] = recorded[args[0] % len(recorded)]
    if kind == "reconcile":
        reconcile(store)
    elif kind == "add":
        add_election(store, args[0], nation="ENG")
    elif kind == "cancel":
        cancel_election(store, args[0])
    elif kind == "move":
        move_election(store, args[0], args[1])
    elif kind == "notice":
        poll = date.fromisoformat(args[0].rsplit(".", 1)[1])
        set_notice(store, args[0], poll - timedelta(days=args[1]))
    elif kind == "exempt":
        person, action, offset, span = args
        start = store.clock() + offset
        exempt(
            store,
            person,
            action=action,
            start=start,
            end=start + span,
            reason="emergency",
            granted_by="Clerk",
        )
    elif kind == "import":
        lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//purdah tests//EN"]
        for day in sorted(args[0]):
            lines += [
                "BEGIN:VEVENT",
                f"UID:{day.isoformat()}@property",
                f"DTSTART;VALUE=DATE:{day:%Y%m%d}",
                "SUMMARY:Parish council election",
                "END:VEVENT",
            ]
        path = tmp_path / "parish.ics"
        path.write_text("\r\n".join([*lines, "END:VCALENDAR", ""]), encoding="utf-8")
        import_sources(store, [str(path)], ImportOptions(council="selston"), force=True)
    else:
        add_non_working_day(store, args[0], "day of mourning")


def test_the_audit_is_exact_under_any_sequence_of_writes(store, tmp_path):
    tried: Counter = Counter()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(steps)
    @example(  # the switch the old unique key dropped: the same change twice at one instant
        [
            (timedelta(days=18), ("import", {date(2026, 4, 23)})),
            (timedelta(0), ("import", {date(2026, 7, 2)})),
            (timedelta(0), ("import", {date(2026, 4, 23)})),
            (timedelta(0), ("import", {date(2026, 7, 2)})),
        ]
    )
    def run(sequence) -> None:
        with store.write() as (conn, _now):
            for table in TABLES:
                conn.exec_driver_sql(f'DELETE FROM "{table}"')
        clock = Clock(BASE)
        nottinghamshire(store)  # registered at SETUP, before BASE
        store.clock = clock
        tried["sequences"] += 1
        for advance, step in sequence:
            clock.now += advance
            tried["operations"] += 1
            with store.read() as conn:
                mark = last_run(conn)
                before = {
                    p.id: (p.may_post, p.may_promote) for p in conn.execute(sa.select(councillor_t))
                }
                snapshot = _snapshot(conn)
                top = conn.execute(sa.select(sa.func.max(flag_change_t.c.id))).scalar() or 0
            if step[0] == "dry-run":
                reconcile_dry_run(store, clock.now + step[1])
                with store.read() as conn:
                    assert _snapshot(conn) == snapshot, "a dry run wrote"
                tried["dry-run"] += 1
                continue
            try:
                _apply(store, tmp_path, step)
            except PurdahError:
                with store.read() as conn:
                    assert _snapshot(conn) == snapshot, f"{step} failed but changed the store"
                tried[f"{step[0]} (refused)"] += 1
                continue
            tried[step[0]] += 1
            now = clock.now
            with store.read() as conn:
                rows = conn.execute(sa.select(flag_change_t).where(flag_change_t.c.id > top)).all()
                since = mark if mark is not None and mark < now else now
                expected, flags = _model(conn, before, since, now)
                stored = {
                    p.id: (p.may_post, p.may_promote) for p in conn.execute(sa.select(councillor_t))
                }
                assert last_run(conn) == now
            got = Counter((r.councillor_id, r.flag, r.old, r.new, r.at) for r in rows)
            assert got == expected, f"{step} at {now}: audit {got} != model {expected}"
            assert all(r.recorded_at == now for r in rows), f"{step}: recorded_at is not {now}"
            assert stored == flags, f"{step} at {now}: stored {stored} != model {flags}"
            tried["audit rows"] += len(rows)
            tried["same-instant writes"] += advance == timedelta(0)
        check_invariants(store)

    run()
    print(f"\n{store.dialect}: {dict(sorted(tried.items()))}")
    assert tried["sequences"] >= EXAMPLES  # and the explicit example
