"""Reconcile at national scale, each figure against its floor measured in the same run.

For each register size (1k, 10k, 100k councillors; 1M with --million; or one size with
--councillors N) a child process builds the national register (bench/national.py,
10 councillors a council) and measures, on SQLite (or PostgreSQL with --pg URL):

- catch-up after downtime: the first reconcile since the register's set-up, two years
  of boundaries replayed, up to a minute before the mass boundary. Floor: the database
  copying the audit rows it wrote (INSERT ... SELECT) and touching the councillors it
  switched (one UPDATE);
- idle tick: a reconcile with nothing due (median of 41). Floor: the raw SQL the
  incremental path needs, through the bare driver in one write transaction (the two
  indexed lookups of what was touched since the last run, and the mark's read and
  compare-and-set). A second row compares it with the idle tick at 1k councillors (the
  goal: the same cost whatever the register's size);
- mass switch: the reconcile at MASS_BOUNDARY, where every councillor switches. Floor:
  one INSERT ... SELECT writing the same audit rows and one UPDATE switching the same
  flags, each deciding in SQL, run (and undone) on the same store just before;
- the same mass switch on a fresh copy with the outbox's event writes left out (no goal:
  it says how much of the switch is the one `flag.changed` event per change that the
  outbox records in the same transaction, which the floor does not write).

Peak memory is each child's (one scale each). --pg URL empties that database's public
schema (give a scratch database).

    .venv/bin/python bench/bench_reconcile.py [--councillors N] [--million] [--pg URL]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from common import Row, emit, peak_mb
from national import MASS_BOUNDARY, at, build

from purdah.outbox import events as outbox_events
from purdah.services.reconcile import reconcile
from purdah.store import WRITE_LOCK_KEY, db_instant, open_store

SCALES = [1_000, 10_000, 100_000]
MEMORY_CAP = 8 * 1024**3  # a child that runs away is stopped, not the machine
IDLE_TICKS = 41  # sub-millisecond each: a median of many, so one busy moment does not move it


def _sql(pg: bool, text: str) -> str:
    return text.replace("?", "%s") if pg else text


_TOUCHED = [
    'SELECT council_id FROM "window" WHERE start > ? AND start <= ? '
    'UNION SELECT council_id FROM "window" WHERE "end" > ? AND "end" <= ? '
    'UNION SELECT council_id FROM "window" WHERE changed_at >= ? '
    "UNION SELECT council_id FROM removed_window WHERE removed_at >= ?",
    "SELECT councillor_id FROM exemption WHERE start > ? AND start <= ? "
    'UNION SELECT councillor_id FROM exemption WHERE "end" > ? AND "end" <= ? '
    "UNION SELECT councillor_id FROM exemption WHERE created_at >= ? "
    "UNION SELECT id FROM councillor WHERE created_at >= ? "
    "UNION SELECT id FROM councillor WHERE changed_at >= ?",
]


def idle_floor(store: Any, since: Any, now: Any) -> float:
    """One write transaction with the bare driver: the lookups of what was touched in
    (since, now] and the mark's read and compare-and-set (to the value it has)."""
    pg = store.dialect == "postgresql"
    convert = db_instant(store.dialect)
    s, n = convert(since), convert(now)
    raw = store.engine.raw_connection()
    try:
        cur = raw.cursor()
        t0 = time.perf_counter()
        if pg:
            cur.execute(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})")
        else:
            cur.execute("BEGIN IMMEDIATE")
        cur.execute(_sql(pg, _TOUCHED[0]), (s, n, s, n, s, s))
        cur.fetchall()
        cur.execute(_sql(pg, _TOUCHED[1]), (s, n, s, n, s, s, s))
        cur.fetchall()
        cur.execute(_sql(pg, "SELECT value FROM meta WHERE key = ?"), ("last_reconcile_at",))
        (mark,) = cur.fetchone()
        cur.execute(
            _sql(pg, "UPDATE meta SET value = ? WHERE key = ? AND value = ?"),
            (mark, "last_reconcile_at", mark),
        )
        raw.commit()
        return time.perf_counter() - t0
    finally:
        raw.close()


def _mass_floor_sql(pg: bool) -> tuple[str, str]:
    # The windows in force named in the order reconcile names them (start, election,
    # row): PostgreSQL's aggregate takes an ORDER BY; SQLite's group_concat follows the
    # order of the rows it is given.
    if pg:
        live = (
            "SELECT w.council_id, string_agg(e.election_id, ', ' ORDER BY w.start, "
            'e.election_id, w.id) AS ids FROM "window" w JOIN election e '
            'ON e.id = w.election_pk WHERE w.start <= ? AND w."end" > ? GROUP BY w.council_id'
        )
    else:
        live = (
            "SELECT council_id, group_concat(election_id, ', ') AS ids FROM (SELECT "
            'w.council_id, e.election_id FROM "window" w JOIN election e '
            'ON e.id = w.election_pk WHERE w.start <= ? AND w."end" > ? '
            "ORDER BY w.council_id, w.start, e.election_id, w.id) GROUP BY council_id"
        )
    free = "d.ids IS NULL"
    post = f"(p.agreed_may_post AND {free})"
    why = (
        "CASE WHEN d.ids IS NOT NULL THEN 'pre-election window: ' || d.ids "
        "ELSE 'no pre-election window in force' END"
    )
    insert = (
        f"WITH d AS ({live}) INSERT INTO flag_change "
        "(councillor_id, flag, old, new, at, recorded_at, cause, actor) "
        f"SELECT p.id, 'may_post', p.may_post, {post}, ?, ?, CASE WHEN NOT p.agreed_may_post "
        "THEN 'the council has not agreed that this councillor may post on its accounts' "
        f"ELSE {why} END, 'floor' FROM councillor p LEFT JOIN d ON d.council_id = p.council_id "
        f"WHERE p.left_at IS NULL AND p.may_post <> {post} "
        f"UNION ALL SELECT p.id, 'may_promote', p.may_promote, {free}, ?, ?, {why}, 'floor' "
        "FROM councillor p LEFT JOIN d ON d.council_id = p.council_id "
        f"WHERE p.left_at IS NULL AND p.may_promote <> ({free})"
    )
    restricted = (
        'EXISTS (SELECT 1 FROM "window" w WHERE w.council_id = councillor.council_id '
        'AND w.start <= ? AND w."end" > ?)'
    )
    update = (
        f"UPDATE councillor SET may_post = agreed_may_post AND NOT {restricted}, "
        f"may_promote = NOT {restricted}, flags_at = ? WHERE left_at IS NULL AND "
        f"(may_post <> (agreed_may_post AND NOT {restricted}) OR may_promote = {restricted})"
    )
    return insert, update


def mass_floor(store: Any, when: Any) -> tuple[float, Counter[tuple[Any, ...]]]:
    """The mass switch done by the database alone, committed, then undone."""
    pg = store.dialect == "postgresql"
    t = db_instant(store.dialect)(when)
    insert, update = _mass_floor_sql(pg)
    raw = store.engine.raw_connection()
    try:
        cur = raw.cursor()
        if not pg:
            cur.execute("BEGIN IMMEDIATE")
        cur.execute("SELECT coalesce(max(id), 0) FROM flag_change")
        (top,) = cur.fetchone()
        cur.execute(
            "CREATE TEMPORARY TABLE flags_before AS SELECT id, may_post, may_promote, "
            "flags_at FROM councillor"
        )
        raw.commit()
        if not pg:
            cur.execute("BEGIN IMMEDIATE")
        t0 = time.perf_counter()
        cur.execute(_sql(pg, insert), (t, t, t, t, t, t))
        cur.execute(_sql(pg, update), (t,) * 9)
        raw.commit()
        seconds = time.perf_counter() - t0
        cur.execute(
            _sql(pg, "SELECT councillor_id, flag, new, cause FROM flag_change WHERE id > ?"),
            (top,),
        )
        rows = Counter((pid, flag, bool(new), cause) for pid, flag, new, cause in cur.fetchall())
        if not pg:
            cur.execute("BEGIN IMMEDIATE")
        cur.execute(_sql(pg, "DELETE FROM flag_change WHERE id > ?"), (top,))
        cur.execute(
            "UPDATE councillor SET may_post = b.may_post, may_promote = b.may_promote, "
            "flags_at = b.flags_at FROM flags_before b WHERE councillor.id = b.id"
        )
        cur.execute("DROP TABLE flags_before")
        raw.commit()
        return seconds, rows
    finally:
        raw.close()


def copy_floor(store: Any, first: int, last: int) -> float:
    """The database alone writing rows like a reconcile's: copying its audit rows and
    touching the councillors they switched; committed, then undone."""
    pg = store.dialect == "postgresql"
    raw = store.engine.raw_connection()
    try:
        cur = raw.cursor()
        if not pg:
            cur.execute("BEGIN IMMEDIATE")
        cur.execute("SELECT max(id) FROM flag_change")
        (top,) = cur.fetchone()
        t0 = time.perf_counter()
        cur.execute(
            _sql(
                pg,
                "INSERT INTO flag_change (councillor_id, flag, old, new, at, recorded_at, cause, "
                "actor) SELECT councillor_id, flag, old, new, at, recorded_at, cause, actor "
                "FROM flag_change WHERE id BETWEEN ? AND ? ORDER BY id",
            ),
            (first, last),
        )
        cur.execute(
            _sql(
                pg,
                "UPDATE councillor SET flags_at = flags_at WHERE id IN "
                "(SELECT councillor_id FROM flag_change WHERE id BETWEEN ? AND ?)",
            ),
            (first, last),
        )
        raw.commit()
        seconds = time.perf_counter() - t0
        if not pg:
            cur.execute("BEGIN IMMEDIATE")
        cur.execute(_sql(pg, "DELETE FROM flag_change WHERE id > ?"), (top,))
        raw.commit()
        return seconds
    finally:
        raw.close()


def _reset_pg(url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


def measure(councillors: int, pg: str | None) -> list[dict[str, Any]]:
    """One scale in this process: build, then the figures."""
    kind = "postgresql" if pg else "sqlite"
    if pg:
        _reset_pg(pg)
        target: object = pg
    else:
        target = Path(tempfile.mkdtemp(prefix="purdah-bench-reconcile-")) / "national.db"
    t0 = time.perf_counter()
    build(target, max(councillors // 10, 1), 10)
    print(f"  {kind} {councillors:,}: built in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    store = open_store(str(target))
    before = MASS_BOUNDARY - timedelta(minutes=1)

    t0 = time.perf_counter()
    caught = reconcile(at(store, before))
    catch_up_s = time.perf_counter() - t0
    assert caught.audit_ids is not None, "the catch-up switched nothing"
    catch_floor = copy_floor(store, *caught.audit_ids)

    idle, floors = [], []
    for i in range(IDLE_TICKS):
        when = before + timedelta(seconds=i + 1)
        t0 = time.perf_counter()
        result = reconcile(at(store, when))
        idle.append(time.perf_counter() - t0)
        assert not result.changes and result.councils == 0, result
        floors.append(idle_floor(store, when, when + timedelta(microseconds=1)))
    last_idle = before + timedelta(seconds=IDLE_TICKS)

    floor_s, floor_rows = mass_floor(store, MASS_BOUNDARY)
    t0 = time.perf_counter()
    switched = reconcile(at(store, MASS_BOUNDARY))
    mass_s = time.perf_counter() - t0
    got = Counter((c.councillor_id, c.flag, c.new, c.cause) for c in switched.changes)
    assert got == floor_rows, "the floor did not produce the same audit rows"
    assert last_idle < MASS_BOUNDARY
    store.close()
    bare_s = switch_without_outbox(target, councillors, pg, before)
    mb = peak_mb()
    rows = [
        Row(
            f"reconcile: catch-up after downtime ({caught.replayed:,} boundaries, "
            f"{len(caught.changes):,} changes)",
            kind,
            councillors,
            catch_up_s,
            catch_floor,
            "INSERT ... SELECT of its audit rows + UPDATE of those switched",
            None,
            mb,
        ),
        Row(
            "reconcile: idle tick (nothing due)",
            kind,
            councillors,
            statistics.median(idle),
            statistics.median(floors),
            "raw SQL of the incremental path (bare driver)",
            None,
            mb,
        ),
        Row(
            f"reconcile: mass switch ({len(switched.changes):,} changes)",
            kind,
            councillors,
            mass_s,
            floor_s,
            "one INSERT ... SELECT + one UPDATE (database alone)",
            1.5,
            mb,
        ),
        Row(
            "reconcile: mass switch, its outbox writes left out (what the outbox adds)",
            kind,
            councillors,
            bare_s,
            floor_s,
            "one INSERT ... SELECT + one UPDATE (database alone)",
            None,
            mb,
        ),
    ]
    return [r.__dict__ for r in rows]


def switch_without_outbox(target: Any, councillors: int, pg: str | None, before: Any) -> float:
    """The same mass switch on a fresh copy of the register (caught up to `before`, not
    timed) with the outbox's event writes left out: how much of the switch is the
    outbox's one event per change, which the floor does not write."""
    if pg:
        _reset_pg(pg)
    else:
        Path(str(target)).unlink()
        for extra in Path(str(target)).parent.glob(Path(str(target)).name + "-*"):
            extra.unlink()
    build(target, max(councillors // 10, 1), 10)
    store = open_store(str(target))
    reconcile(at(store, before))
    saved = outbox_events.record_flag_changes
    outbox_events.record_flag_changes = lambda conn, mark, now: 0  # type: ignore[assignment]
    try:
        t0 = time.perf_counter()
        reconcile(at(store, MASS_BOUNDARY))
        return time.perf_counter() - t0
    finally:
        outbox_events.record_flag_changes = saved
        store.close()


def _child(councillors: int, pg: str | None) -> list[Row]:
    cmd = [sys.executable, __file__, "--one", str(councillors)]
    if pg:
        cmd += ["--pg", pg]
    done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"the {councillors:,} councillor run failed (exit {done.returncode})")
    return [Row(**r) for r in json.loads(done.stdout.strip().splitlines()[-1])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--councillors", type=int, default=None, help="one register size")
    parser.add_argument("--million", action="store_true", help="add 1,000,000 (slow)")
    parser.add_argument(
        "--pg", default=None, help="on this PostgreSQL instead of SQLite (its schema is reset)"
    )
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
        print(json.dumps(measure(args.one, args.pg)))
        return
    scales = (
        [args.councillors] if args.councillors else SCALES + ([1_000_000] if args.million else [])
    )
    if 1_000 not in scales:
        scales = [1_000, *scales]  # the idle tick's reference
    rows: list[Row] = []
    for pg in [args.pg]:  # None: SQLite (bench/run.py runs each store on its own)
        base = None
        for n in scales:
            got = _child(n, pg)
            rows += got
            idle = got[1]
            if n == 1_000:
                base = idle
            elif base is not None:
                rows.append(
                    Row(
                        "reconcile: idle tick, against the same at 1,000 councillors",
                        idle.store,
                        n,
                        idle.seconds,
                        base.seconds,
                        "idle tick at 1,000 councillors",
                        1.5,
                        idle.peak_mb,
                    )
                )
    emit(rows)


if __name__ == "__main__":
    main()
