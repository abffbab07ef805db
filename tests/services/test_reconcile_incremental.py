"""Reconcile works on what changed since its last run, and a full sweep is its safety net.

Property: under any sequence of writes (elections, imports, exemptions, non-working days,
councillors added, edited and removed, start policies) and ticks at any clock values, the
incremental reconcile leaves exactly the flags and the audit that reconciling every
council each time (a full sweep) leaves; and a full sweep after it fixes nothing.
PURDAH_PROPERTY_EXAMPLES (default 15) sets how many sequences hypothesis tries.
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, example, given, note, settings
from hypothesis import strategies as st

from purdah.errors import PurdahError
from purdah.models import council_t, councillor_t, election_t, flag_change_t, window_t
from purdah.services import reconcile as reconcile_module
from purdah.services.councillors import edit_councillor, remove_councillor
from purdah.services.elections import add_election
from purdah.services.reconcile import reconcile
from purdah.services.register import add_councillor, set_start_policy
from tests.services.helpers import nottinghamshire
from tests.services.test_flags import START_2026
from tests.test_audit_property import (
    ADVANCE,
    BASE,
    EXAMPLES,
    PEOPLE,
    TABLES,
    Clock,
    _apply,
    op,
)

COUNCILLOR_OP = st.one_of(
    st.tuples(st.just("tick")),
    st.tuples(st.just("agree"), st.sampled_from(PEOPLE), st.booleans()),
    st.tuples(st.just("ward"), st.sampled_from(PEOPLE), st.sampled_from(["Underwood", ""])),
    st.tuples(st.just("join"), st.sampled_from(["selston", "gedling"]), st.integers(0, 2)),
    st.tuples(st.just("leave"), st.sampled_from(PEOPLE)),
    st.tuples(
        st.just("policy"),
        st.sampled_from(["selston", "gedling"]),
        st.sampled_from(["notice-or-statutory", "statutory", "notice"]),
    ),
)
steps = st.lists(
    st.tuples(ADVANCE, st.one_of(op, COUNCILLOR_OP)),
    min_size=1,
    max_size=12,
)


def _step(store, tmp_path, step) -> None:
    kind, *args = step
    if kind == "tick":
        reconcile(store)
    elif kind == "agree":
        edit_councillor(store, args[0], agreed_may_post=args[1], actor="test")
    elif kind == "ward":
        edit_councillor(store, args[0], ward=args[1], actor="test")
    elif kind == "join":
        add_councillor(store, f"{args[0]}/new-{args[1]}", name="New", agreed_may_post=True)
    elif kind == "leave":
        remove_councillor(store, args[0], actor="test")
    elif kind == "policy":
        set_start_policy(store, args[0], args[1])
    elif kind != "dry-run":
        _apply(store, tmp_path, step)


def _state(store) -> tuple[dict, Counter]:
    """Flags by councillor, and the audit as a multiset (ids left out: the two runs may
    number exemptions and rows differently, PostgreSQL's sequences are not reset)."""
    with store.read() as conn:
        refs = {
            pid: f"{council}/{slug}"
            for pid, council, slug in conn.execute(
                sa.select(councillor_t.c.id, council_t.c.slug, councillor_t.c.slug).join_from(
                    councillor_t, council_t, councillor_t.c.council_id == council_t.c.id
                )
            )
        }
        flags = {
            refs[p.id]: (p.may_post, p.may_promote, p.left_at)
            for p in conn.execute(sa.select(councillor_t))
        }
        audit = Counter(
            (
                refs[r.councillor_id],
                r.flag,
                r.old,
                r.new,
                r.at,
                r.recorded_at,
                re.sub(r"#\d+", "#", r.cause),
            )
            for r in conn.execute(sa.select(flag_change_t))
        )
    return flags, audit


def _play(store, tmp_path, sequence, *, full: bool) -> list[tuple[dict, Counter]]:
    with store.write() as (conn, _now):
        for table in TABLES:
            conn.exec_driver_sql(f'DELETE FROM "{table}"')
    clock = Clock(BASE)
    nottinghamshire(store, parish_scope="ward")
    store.clock = clock
    states = []
    original = reconcile_module._scope

    def always_full(*args, **kwargs):
        return original(*args, **(kwargs | {"full": True}))

    if full:
        reconcile_module._scope = always_full
    try:
        for advance, step in sequence:
            clock.now += advance
            with contextlib.suppress(PurdahError):
                _step(store, tmp_path, step)
            states.append(_state(store))
    finally:
        reconcile_module._scope = original
    return states


def test_incremental_reconcile_leaves_what_a_full_sweep_leaves(store, tmp_path):
    tried: Counter = Counter()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
        phases=[Phase.explicit, Phase.reuse, Phase.generate],  # shrinking takes minutes
    )
    @given(steps)
    # Two windows in force at once: the cause listed them in the order the store read them,
    # which on PostgreSQL differed between the two plays (the notice updates a window row).
    @example(
        [
            (
                timedelta(hours=1),
                (
                    "import",
                    {date(2026, 7, 2), date(2026, 6, 11), date(2026, 4, 23), date(2026, 5, 14)},
                ),
            ),
            (timedelta(0), ("add", "local.selston.2026-05-07")),
            (timedelta(days=9), ("notice", 9, 32)),
            (timedelta(days=25), ("import", {date(2026, 4, 23)})),
        ]
    )
    def run(sequence) -> None:
        note(f"sequence = {sequence!r}")  # what to paste into an @example to reproduce
        incremental = _play(store, tmp_path, sequence, full=False)
        # What is due now (boundaries since the last step's reconcile) is the incremental
        # path's to switch; then a full sweep must find nothing left to fix.
        reconcile(store)
        sweep = reconcile(store, full=True)
        # (tests/invariants.py replays each history from the agreement to post as it is
        # now, so it does not apply once an edit changed that agreement)
        assert sweep.full and sweep.fixed == 0 and not sweep.changes, sweep
        swept = _play(store, tmp_path, sequence, full=True)
        for n, (got, want) in enumerate(zip(incremental, swept, strict=True)):
            where = f"after step {n} {sequence[n]} of {sequence!r}"
            assert got[0] == want[0], f"flags differ {where}"
            assert got[1] == want[1], f"audit differs {where}"
        tried["sequences"] += 1
        tried["steps"] += len(sequence)
        tried["audit rows"] += sum(incremental[-1][1].values())

    run()
    print(f"\n{store.dialect}: {dict(sorted(tried.items()))}")
    assert tried["sequences"] >= EXAMPLES


def test_an_idle_tick_reads_no_councillor(store):
    """Nothing due: the tick reconciles nobody (no council, no councillor) and moves the mark."""
    nottinghamshire(store)
    store.clock = Clock(BASE)
    reconcile(store)
    store.clock = Clock(BASE + timedelta(seconds=30))
    result = reconcile(store)
    assert (result.councils, result.councillors, result.changes, result.full) == (0, 0, [], False)
    with store.read() as conn:
        assert reconcile_module.last_run(conn) == BASE + timedelta(seconds=30)


def test_the_full_sweep_fixes_and_counts_what_the_incremental_path_missed(store):
    """A flag set wrong behind reconcile's back (no stamp moved) is left by the incremental
    tick, and fixed by the full sweep, which counts it."""
    nottinghamshire(store)
    store.clock = Clock(BASE)
    reconcile(store)
    with store.write() as (conn, _now):
        conn.execute(sa.update(councillor_t).values(may_promote=False))
    store.clock = Clock(BASE + timedelta(seconds=1))
    assert reconcile(store).changes == []
    store.clock = Clock(BASE + timedelta(seconds=2))
    result = reconcile(store, full=True)
    assert result.full and result.full_reason == "asked"
    assert result.fixed == len(result.changes) == 4
    assert {c.flag for c in result.changes} == {"may_promote"}


@pytest.mark.parametrize("councillors", [1, 3])
def test_the_audit_ids_of_a_reconcile_are_its_rows(store, councillors):
    """`audit_ids` is the range of flag_change ids this reconcile inserted, nothing else."""
    nottinghamshire(store)
    add_election(store, "local.selston.2026-05-07", nation="ENG")
    for n in range(councillors):
        add_councillor(store, f"selston/extra-{n}", name="Extra")
    store.clock = Clock(START_2026)  # the window starts: everyone in selston switches
    result = reconcile(store)
    assert result.audit_ids is not None
    first, last = result.audit_ids
    with store.read() as conn:
        rows = conn.execute(sa.select(flag_change_t).where(flag_change_t.c.id >= first)).all()
    assert [r.id for r in rows] == list(range(first, last + 1))
    got = Counter((r.councillor_id, r.flag, r.new, r.at) for r in rows)
    assert got == Counter((c.councillor_id, c.flag, c.new, c.at) for c in result.changes)


def test_a_flag_changed_under_a_councillor_decided_one_by_one_is_refused(store):
    """A councillor with an exemption is decided one by one: a flag changed behind the
    lock's back between the read and the write makes the reconcile roll back."""
    from purdah.decide import Action
    from purdah.errors import ConcurrentWrite
    from purdah.services.history import exempt

    nottinghamshire(store)
    add_election(store, "local.selston.2026-05-07", nation="ENG")
    exempt(
        store,
        "selston/mayor",
        action=Action.PROMOTE,
        start=START_2026,
        end=START_2026 + timedelta(days=1),
        reason="civic",
        granted_by="Clerk",
    )
    store.clock = Clock(START_2026)
    original = reconcile_module._write

    def meddle(conn, *args):
        conn.execute(sa.update(councillor_t).values(may_promote=False))
        return original(conn, *args)

    reconcile_module._write = meddle
    try:
        with pytest.raises(ConcurrentWrite, match="flags changed under this write"):
            reconcile(store)
    finally:
        reconcile_module._write = original
    with store.read() as conn:
        top = conn.execute(sa.select(sa.func.count()).select_from(flag_change_t)).scalar()
    result = reconcile(store)
    assert result.councillors == 0 and any(c.councillor_id for c in result.changes)
    with store.read() as conn:
        after = conn.execute(sa.select(sa.func.count()).select_from(flag_change_t)).scalar()
    assert after - top == len(result.changes)


def test_a_cause_lists_the_windows_in_force_by_start_whatever_the_row_order(store, tmp_path):
    """Two windows in force at once: the cause names them by start (then election), not
    in the order the store returns the rows (on PostgreSQL that moves when a row is
    updated, so the incremental and the full reconcile wrote the same switch with the
    two names swapped)."""
    from purdah.decide import Action
    from purdah.services.history import exempt

    nottinghamshire(store, parish_scope="ward")
    store.clock = Clock(BASE)
    add_election(store, "local.selston.2026-05-07", nation="ENG")  # the later start, first
    _apply(store, tmp_path, ("import", {date(2026, 4, 23)}))
    store.clock = clock = Clock(BASE + timedelta(days=40))  # both in force
    exempt(
        store,
        "selston/mayor",
        action=Action.PROMOTE,
        start=clock.now,
        end=clock.now + timedelta(hours=1),
        reason="civic",
        granted_by="Clerk",
    )
    clock.now += timedelta(hours=2)  # the exemption ended: the mayor may not promote again
    changes = reconcile(store).changes
    with store.read() as conn:
        starts = dict(
            conn.execute(
                sa.select(election_t.c.election_id, window_t.c.start).join_from(
                    window_t, election_t, window_t.c.election_pk == election_t.c.id
                )
            ).all()
        )
    names = sorted(starts, key=lambda e: (starts[e], e))
    assert len(names) == 2 and starts[names[0]] < starts[names[1]]
    assert [(c.flag, c.new, c.cause) for c in changes] == [
        ("may_promote", False, "pre-election window: " + ", ".join(names))
    ]
