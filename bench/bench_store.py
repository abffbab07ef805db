"""National-scale benchmark of the store: check, purdah check as a process, reconcile, status.

Builds a synthetic register (10,000 councils in a county > district > parish hierarchy,
100,000 councillors, the scheduled UK polls 2026-2031) in a SQLite file, then reports
each figure as a ratio to a baseline measured in the same run:
- in-process lookups against a bare indexed sqlite3 lookup of one councillor's flag;
- whole processes against `python -c pass`.
Absolute times are printed too, but on shared machines only the ratios are comparable.

    make bench            # or: .venv/bin/python bench/bench_store.py [--councils N]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from purdah.clock import LONDON
from purdah.decide import Action
from purdah.models import (
    council_area_t,
    council_t,
    councillor_t,
    election_t,
)
from purdah.services.check import check
from purdah.services.reconcile import reconcile
from purdah.services.status import status
from purdah.services.windows import recompute_windows
from purdah.store import migrate, open_store

SETUP = datetime(2026, 1, 5, 9, tzinfo=LONDON)
# Scheduled polls 2026-2031 (ordinary dates; the general election at its latest).
LOCAL_DATES = ["2026-05-07", "2027-05-06", "2028-05-04", "2029-05-03", "2030-05-02", "2031-05-01"]


def build(db: Path, councils: int, per_council: int) -> tuple[int, int, int]:
    store = open_store(str(db), create=True)
    migrate(store)
    counties = max(councils // 250, 1)
    districts = max(councils // 30, 1)
    parishes = councils - counties - districts
    rows, areas = [], []
    for i in range(counties):
        rows.append(
            {"slug": f"county-{i}", "name": f"County {i}", "nation": "ENG", "kind": "county"}
        )
    for i in range(districts):
        county = f"county-{i % counties}"
        rows.append(
            {
                "slug": f"district-{i}",
                "name": f"District {i}",
                "nation": "ENG",
                "kind": "district",
                "_within": [county],
            }
        )
    for i in range(parishes):
        d = i % districts
        rows.append(
            {
                "slug": f"parish-{i}",
                "name": f"Parish {i}",
                "nation": "ENG",
                "kind": "parish",
                "_within": [f"district-{d}", f"county-{d % counties}"],
            }
        )
    with store.write() as (conn, _now):
        conn.execute(
            sa.insert(council_t),
            [
                {k: v for k, v in r.items() if not k.startswith("_")} | {"created_at": SETUP}
                for r in rows
            ],
        )
        ids = dict(conn.execute(sa.select(council_t.c.slug, council_t.c.id)).all())
        for r in rows:
            areas += [{"council_id": ids[r["slug"]], "area": a} for a in r.get("_within", [])]
        conn.execute(sa.insert(council_area_t), areas)
        people = [
            {
                "council_id": cid,
                "slug": f"c{n}",
                "name": f"Councillor {n}",
                "ward": f"w{n % 3}",
                "agreed_may_post": n % 2 == 0,
                "may_post": n % 2 == 0,
                "may_promote": True,
                "flags_at": SETUP,
                "created_at": SETUP,
            }
            for cid in ids.values()
            for n in range(per_council)
        ]
        for start in range(0, len(people), 20000):
            conn.execute(sa.insert(councillor_t), people[start : start + 20000])
        elections = []
        for i in range(districts):  # district polls, alternating years
            elections.append((f"local.district-{i}.{LOCAL_DATES[1 + i % 2 * 2]}", f"district-{i}"))
        for i in range(counties):
            elections.append((f"local.county-{i}.2029-05-03", f"county-{i}"))
            elections.append((f"pcc.county-{i}.2028-05-04", f"county-{i}"))
        for i in range(0, parishes, 4):  # a quarter of parishes hold contested polls
            elections.append((f"local.parish-{i}.{LOCAL_DATES[i % 6]}", f"parish-{i}"))
        elections.append(("parl.2029-08-16", "uk"))
        conn.execute(
            sa.insert(election_t),
            [
                {
                    "election_id": eid,
                    "type": eid.split(".")[0],
                    "area": area,
                    "nation": None if eid.startswith("parl") else "ENG",
                    "poll_date": datetime.fromisoformat(eid.rsplit(".", 1)[1]).date(),
                    "status": "scheduled",
                    "source": "bench",
                    "created_at": SETUP,
                    "updated_at": SETUP,
                }
                for eid, area in elections
            ],
        )
        t0 = time.perf_counter()
        changes = recompute_windows(conn, SETUP)
        windows_s = time.perf_counter() - t0
    reconcile(at(store, SETUP))
    store.close()
    print(
        f"register: {len(rows)} councils, {len(people)} councillors, {len(elections)} polls, "
        f"{changes.added} windows (computed in {windows_s:.2f} s)"
    )
    return len(rows), len(people), changes.added


def at(store, when: datetime):
    """The store, its clock set to `when`: a write reads the store's clock once it holds
    the lock, so a benchmark chooses the instant through the clock."""
    store.clock = lambda: when
    return store


def per_call(fn, n: int) -> float:
    """Median seconds per call over 5 rounds of n calls."""
    rounds = []
    for _ in range(5):
        t0 = time.perf_counter()
        for i in range(n):
            fn(i)
        rounds.append((time.perf_counter() - t0) / n)
    return statistics.median(rounds)


def wall(cmd: list[str], env: dict[str, str], n: int = 7) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--councils", type=int, default=10_000)
    parser.add_argument("--per-council", type=int, default=10)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="purdah-bench-"))
    db = tmp / "bench.db"
    build(db, args.councils, args.per_council)

    raw = sqlite3.connect(db)
    lookup_sql = (
        "SELECT c.may_promote FROM councillor c JOIN council k ON c.council_id = k.id "
        "WHERE k.slug = ? AND c.slug = ?"
    )
    refs = [(f"parish-{i % 9000}", f"c{i % args.per_council}") for i in range(1000)]
    baseline = per_call(lambda i: raw.execute(lookup_sql, refs[i % 1000]).fetchone(), 2000)

    store = open_store(str(db))
    # The PCC polls of 4 May 2028 cover every council (each lies within a county): their
    # windows start at 00:00 on 27 March 2028, when all 100,000 councillors switch.
    boundary = datetime(2028, 3, 27, tzinfo=LONDON)
    inside = boundary + timedelta(hours=12)
    refs_text = [f"{c}/{p}" for c, p in refs]
    in_process = per_call(lambda i: check(store, refs_text[i % 1000], Action.PROMOTE, inside), 500)

    t0 = time.perf_counter()
    caught = reconcile(at(store, boundary - timedelta(seconds=1)))  # two years of ticks missed
    catch_up_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    switched = reconcile(at(store, boundary))
    boundary_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    idle = reconcile(at(store, inside))
    idle_s = time.perf_counter() - t0
    assert idle.changes == [], "reconcile is not idempotent"

    t0 = time.perf_counter()
    rows = status(store, inside)
    status_s = time.perf_counter() - t0
    assert not any(r.mismatch for r in rows)
    store.close()

    env = {**os.environ, "PURDAH_DB": str(db)}
    python_pass = wall([sys.executable, "-c", "pass"], env)
    purdah = str(Path(sys.executable).with_name("purdah"))
    process = wall([purdah, "check", refs_text[0], "--at", "2028-03-27T12:00"], env)

    def line(what: str, seconds: float, base: float, base_name: str, target: str) -> None:
        print(f"| {what} | {seconds * 1e3:.3f} ms | {seconds / base:.1f}x {base_name} | {target} |")

    print(
        f"\nbaselines: indexed sqlite3 lookup {baseline * 1e6:.1f} us; "
        f"python -c pass {python_pass * 1e3:.0f} ms\n"
    )
    print("| measure | median | ratio to baseline | target |")
    print("|---|---|---|---|")
    line("check, in process", in_process, baseline, "sqlite3 lookup", "< 50 us")
    line("purdah check, whole process", process, python_pass, "python -c pass", "< 300 ms")
    line(
        f"reconcile at a boundary: {len(switched.changes)} flag changes",
        boundary_s,
        baseline,
        "sqlite3 lookup",
        "< 200 ms",
    )
    line("reconcile, nothing to change", idle_s, baseline, "sqlite3 lookup", "< 200 ms")
    line(f"status of all {len(rows)} councillors", status_s, baseline, "sqlite3 lookup", "< 300 ms")
    line(
        f"catch-up after 2 years down: {caught.replayed} boundaries, {len(caught.changes)} changes",
        catch_up_s,
        baseline,
        "sqlite3 lookup",
        "-",
    )


if __name__ == "__main__":
    main()
