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

from purdah.clock import LONDON
from purdah.decide import Action
from purdah.services.check import check
from purdah.services.reconcile import reconcile
from purdah.services.status import status
from purdah.store import open_store

sys.path.insert(0, str(Path(__file__).parent))

from national import at, build, per_call


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
    refs = [(f"parish-{i % (args.councils // 2)}", f"c{i % args.per_council}") for i in range(1000)]
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
