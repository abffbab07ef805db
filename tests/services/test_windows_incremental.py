"""Windows recomputed incrementally are what a full recompute gives.

Two copies of one store go through the same random sequence of changes at the same
instants: in one, every write recomputes only the windows its change covers; in the
other, the stored rules fingerprint is made stale before each write, so that every write
recomputes every window (the path a store upgraded to another purdah takes). After each
change the two stores must hold the same windows (ids, values, changed_at), the same
removed windows (the feeds' STATUS:CANCELLED), the same flags and the same audit.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from purdah.clock import LONDON
from purdah.errors import PurdahError
from purdah.models import (
    councillor_t,
    election_t,
    flag_change_t,
    meta_t,
    removed_window_t,
    window_t,
)
from purdah.services import areas, elections, register
from purdah.services.importer import ImportOptions, import_sources
from purdah.services.windows import RULES_FINGERPRINT_KEY, Scope, recompute_windows
from purdah.store import migrate, open_store
from tests.services.helpers import SETUP, nottinghamshire, set_clock, use_clock

# Thursdays a poll can be held on, and a general election's latest day.
THURSDAYS = [date(2026, 5, 7) + timedelta(weeks=n) for n in range(0, 80, 3)]
IDS = [
    "local.selston.{d}",
    "local.selston.underwood.by.{d}",
    "local.ashfield.{d}",
    "local.ashfield.kirkby-cross.by.{d}",
    "local.nottinghamshire.{d}",
    "pcc.nottinghamshire.{d}",
    "local.gedling.{d}",
    "local.cardiff.{d}",
    "parl.{d}",
]


def _base(path: Path) -> None:
    store = open_store(str(path), create=True)
    migrate(store)
    nottinghamshire(store, parish_scope="ward")
    register.add_council(
        store,
        "cardiff",
        name="Cardiff Council",
        nation="WLS",
        kind="unitary",
        start_policy="run-up",
    )
    register.add_councillor(store, "cardiff/huw", name="Huw Jones")
    store.close()


@pytest.fixture(scope="module")
def base_store() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="purdah-incremental-"))
    _base(folder / "base.db")
    yield folder / "base.db"
    shutil.rmtree(folder, ignore_errors=True)


def _dump(store) -> dict[str, list[tuple]]:
    with store.read() as conn:
        return {
            name: [tuple(r) for r in conn.execute(sa.select(table).order_by(*table.primary_key))]
            for name, table in (
                ("window", window_t),
                ("removed_window", removed_window_t),
                ("councillor", councillor_t),
                ("flag_change", flag_change_t),
                ("election", election_t),
            )
        }


def _stale(store) -> None:
    """Make the store look as if its windows were computed by another purdah."""
    with store.write() as (conn, _now):
        conn.execute(
            sa.update(meta_t).where(meta_t.c.key == RULES_FINGERPRINT_KEY).values(value="old")
        )


def _calendar(folder: Path, events: list[tuple[int, int, bool]]) -> str:
    """Selston's calendar: (uid number, Thursday index, cancelled) per event."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//EN"]
    for uid, day, cancelled in events:
        lines += [
            "BEGIN:VEVENT",
            f"UID:ev-{uid}",
            f"DTSTART;VALUE=DATE:{THURSDAYS[day]:%Y%m%d}",
            "SUMMARY:Parish council election",
            *(["STATUS:CANCELLED"] if cancelled else []),
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    path = folder / "selston.ics"
    path.write_text("\r\n".join(lines) + "\r\n")
    return str(path)


day = st.integers(0, len(THURSDAYS) - 1)
step = st.one_of(
    st.tuples(st.just("add"), st.integers(0, len(IDS) - 1), day, st.booleans()),
    st.tuples(st.just("cancel"), st.integers(0, 20)),
    st.tuples(st.just("move"), st.integers(0, 20), day),
    st.tuples(st.just("notice"), st.integers(0, 20), st.integers(5, 40)),
    st.tuples(st.just("announce"), st.integers(0, 20), st.integers(30, 60)),
    st.tuples(st.just("remove"), st.integers(0, 20)),
    st.tuples(
        st.just("policy"),
        st.sampled_from(["selston", "ashfield", "cardiff"]),
        st.sampled_from(["run-up", "notice-or-statutory", "notice-or-last-day"]),
    ),
    st.tuples(st.just("within"), st.booleans()),
    st.tuples(
        st.just("import"),
        st.lists(st.tuples(st.integers(0, 3), day, st.booleans()), max_size=3),
    ),
    st.tuples(st.just("non-working-day"), st.integers(0, 60)),
)


def _apply(store, op: tuple, recorded: list[str], folder: Path) -> object:
    kind = op[0]

    def pick(n: int) -> str:
        return recorded[n % len(recorded)] if recorded else "local.selston.2026-05-07"

    if kind == "add":
        eid = IDS[op[1]].format(d=THURSDAYS[op[2]].isoformat())
        notice = THURSDAYS[op[2]] - timedelta(days=25) if op[3] else None
        return elections.add_election(store, eid, notice=notice)
    if kind == "cancel":
        return elections.cancel_election(store, pick(op[1]))
    if kind == "move":
        return elections.move_election(store, pick(op[1]), THURSDAYS[op[2]])
    if kind == "notice":
        eid = pick(op[1])
        poll = date.fromisoformat(eid.rsplit(".", 1)[1])
        return elections.set_notice(store, eid, poll - timedelta(days=op[2]))
    if kind == "announce":
        eid = pick(op[1])
        poll = date.fromisoformat(eid.rsplit(".", 1)[1])
        at = datetime.combine(poll - timedelta(days=op[2]), datetime.min.time(), LONDON)
        return elections.announce_election(store, eid, at + timedelta(hours=11))
    if kind == "remove":
        return elections.remove_election(store, pick(op[1]), actor="test")
    if kind == "policy":
        return register.set_start_policy(store, op[1], op[2])
    if kind == "within":
        if op[1]:
            return areas.edit_council(store, "selston", remove_within=("nottinghamshire",))
        return areas.edit_council(store, "selston", add_within=("nottinghamshire",))
    if kind == "import":
        path = _calendar(folder, op[1])
        return import_sources(store, [path], ImportOptions(council="selston"), force=True)
    if kind == "non-working-day":
        return elections.add_non_working_day(store, SETUP.date() + timedelta(days=op[1]), "m")
    raise AssertionError(kind)


def _outcome(store, op, recorded, folder):
    try:
        return _apply(store, op, recorded, folder), None
    except PurdahError as exc:
        return None, f"{type(exc).__name__}: {exc}"


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(st.tuples(step, st.integers(1, 24 * 40)), min_size=1, max_size=8))
def test_incremental_windows_equal_a_full_recompute(base_store, steps):
    folder = Path(tempfile.mkdtemp(prefix="purdah-inc-"))
    try:
        shutil.copy(base_store, folder / "a.db")
        shutil.copy(base_store, folder / "b.db")
        a, b = open_store(str(folder / "a.db")), open_store(str(folder / "b.db"))
        now = [SETUP]
        use_clock(a, lambda: now[0])
        use_clock(b, lambda: now[0])
        recorded: list[str] = []
        for op, hours in steps:
            now[0] += timedelta(hours=hours)
            _stale(b)
            got_a, error_a = _outcome(a, op, recorded, folder)
            got_b, error_b = _outcome(b, op, recorded, folder)
            assert error_a == error_b, op
            assert _dump(a) == _dump(b), op
            changes_a = getattr(got_a, "windows", None)
            changes_b = getattr(got_b, "windows", None)
            if changes_b is not None:
                assert changes_b.full is not None  # b recomputed everything
                assert (changes_a.added, changes_a.changed, changes_a.removed) == (
                    changes_b.added,
                    changes_b.changed,
                    changes_b.removed,
                ), op
                if op[0] not in ("non-working-day",):
                    assert changes_a.full is None, (op, changes_a.full)
            if op[0] == "add" and error_a is None:
                recorded.append(got_a.election.election_id)
            if op[0] == "remove" and error_a is None:
                recorded.remove(got_a.subject)
        a.close()
        b.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_store_in_step_has_nothing_to_recompute(sqlite_store):
    """A full recompute after incremental ones changes nothing, and says it ran."""
    nottinghamshire(sqlite_store)
    set_clock(sqlite_store, SETUP + timedelta(days=1))
    elections.add_election(sqlite_store, "local.ashfield.2026-05-07")
    elections.add_election(sqlite_store, "pcc.nottinghamshire.2028-05-04")
    changes, result = elections.recompute_every_window(sqlite_store)
    assert (changes.added, changes.changed, changes.removed) == (0, 0, 0)
    assert changes.full == "asked for (purdah windows --recompute)"
    assert result.changes == []


def test_a_scope_recomputes_only_its_windows(sqlite_store):
    """A window outside the scope is left alone, even when it is out of date: that is what
    a full recompute (and the stale-rules check) are for."""
    nottinghamshire(sqlite_store)
    set_clock(sqlite_store, SETUP + timedelta(days=1))
    elections.add_election(sqlite_store, "local.ashfield.2026-05-07")
    with sqlite_store.write() as (conn, now):
        conn.execute(sa.update(window_t).values(notes="tampered"))
        pk = conn.execute(sa.select(election_t.c.id)).scalar_one()
        assert recompute_windows(conn, now, Scope.of(councils=[999])).changed == 0
        assert recompute_windows(conn, now, Scope.of(elections=[pk])).changed == 2


def test_stale_rules_recompute_everything_and_say_why(sqlite_store):
    nottinghamshire(sqlite_store)
    set_clock(sqlite_store, SETUP + timedelta(days=1))
    elections.add_election(sqlite_store, "local.ashfield.2026-05-07")
    _stale(sqlite_store)
    done = elections.add_election(sqlite_store, "local.gedling.2026-05-07")
    assert done.windows.full is not None and "computed by old" in done.windows.full
    assert "every window recomputed" in done.windows.describe()
    assert elections.add_election(sqlite_store, "local.selston.2026-05-07").windows.full is None
