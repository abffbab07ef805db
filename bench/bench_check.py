"""`check` and process start-up on the national register, each against its floor measured
in the same run (bench/common.py rows):

- `check` in process on SQLite, answers kept (the steady state of a service) and read
  afresh (the first answer for a councillor: one statement), vs a bare indexed sqlite3
  lookup of one councillor's flag; the goal is 30 us, i.e. 4.3x the issue's 7 us floor;
- `check` on PostgreSQL (with --pg URL) vs the same lookup by raw psycopg, prepared; the
  goal is 0.5 ms, i.e. 2.9x the issue's 0.17 ms floor;
- `purdah check` as a process vs `python -c "import sqlite3"` (goal 3x);
- `purdah council list`, `windows`, `history` as processes vs `sqlite-utils tables DB`
  (goal 2x).

Processes run with bytecode written (PYTHONDONTWRITEBYTECODE unset, one warm-up run), as
an installed purdah runs; each is timed alternately with its floor.

    .venv/bin/python bench/bench_check.py --councillors 10000 [--pg postgresql+psycopg://...]
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
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import Row, emit, peak_mb
from national import MASS_BOUNDARY, build, per_call

from purdah.decide import Action
from purdah.services.check import check
from purdah.store import open_store

PER_COUNCIL = 10
INSIDE = MASS_BOUNDARY + timedelta(hours=12)  # every councillor is in the PCC window
LOOKUP = (
    "SELECT c.may_promote FROM councillor c JOIN council k ON c.council_id = k.id "
    "WHERE k.slug = {p} AND c.slug = {p}"
)


def refs(councils: int) -> list[tuple[str, str]]:
    parishes = councils - max(councils // 250, 1) - max(councils // 30, 1)
    return [(f"parish-{(i * 7) % parishes}", f"c{i % PER_COUNCIL}") for i in range(1000)]


def in_process(store, pairs, floor_fn, calls: int) -> tuple[float, float, float]:
    """(kept answers, fresh answers, floor) seconds per call, rounds interleaved."""
    texts = [f"{c}/{p}" for c, p in pairs]
    kept = per_call(lambda i: check(store, texts[i % 1000], Action.PROMOTE, INSIDE, INSIDE), calls)
    cache = store.snapshot_cache()

    def fresh(i: int) -> None:
        if cache is not None:
            cache.clear()
        check(store, texts[i % 1000], Action.PROMOTE, INSIDE, INSIDE)

    fresh_s = per_call(fresh, calls)
    floor = per_call(floor_fn, calls)
    return kept, fresh_s, floor


def wall(cmd: list[str], floor: list[str], env: dict[str, str], n: int) -> tuple[float, float]:
    """Median seconds of `cmd` and of `floor`, run alternately."""
    for c in (cmd, floor):  # warm-up: bytecode written, files in the page cache
        subprocess.run(c, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    a, b = [], []
    for _ in range(n):
        for c, out in ((cmd, a), (floor, b)):
            t0 = time.perf_counter()
            subprocess.run(c, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            out.append(time.perf_counter() - t0)
    return statistics.median(a), statistics.median(b)


def on_postgresql(url: str, councils: int, n: int, pairs: list[tuple[str, str]]) -> list[Row]:
    import psycopg

    build(url, councils, PER_COUNCIL)
    pg = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
    pg.autocommit = True
    sql = LOOKUP.format(p="%s")
    pg_store = open_store(url)
    kept, _fresh, floor = in_process(
        pg_store, pairs, lambda i: pg.execute(sql, pairs[i % 1000], prepare=True).fetchone(), 500
    )
    pg_store.close()
    what = "raw psycopg lookup, prepared"
    return [Row("check in process (goal 0.5 ms)", "postgresql", n, kept, floor, what, 2.9)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--councillors", type=int, default=10_000)
    parser.add_argument(
        "--pg",
        metavar="URL",
        help="on PostgreSQL instead (a throw-away database): the in-process check only; the "
        "start-up rows are SQLite's",
    )
    parser.add_argument("--runs", type=int, default=11, help="process runs per figure")
    args = parser.parse_args()
    councils = max(args.councillors // PER_COUNCIL, 10)
    n = councils * PER_COUNCIL
    pairs = refs(councils)
    rows: list[Row] = []
    if args.pg:  # bench/run.py runs each store on its own
        emit(on_postgresql(args.pg, councils, n, pairs))
        return
    tmp = Path(tempfile.mkdtemp(prefix="purdah-bench-check-"))
    db = tmp / "national.db"
    build(db, councils, PER_COUNCIL)

    raw = sqlite3.connect(db)
    lookup = LOOKUP.format(p="?")
    store = open_store(str(db))
    kept, fresh, floor = in_process(
        store, pairs, lambda i: raw.execute(lookup, pairs[i % 1000]).fetchone(), 2000
    )
    store.close()
    what = "indexed sqlite3 lookup"
    rows += [
        Row("check in process, answers kept (goal 30 us)", "sqlite", n, kept, floor, what, 4.3),
        Row("check in process, read afresh (one statement)", "sqlite", n, fresh, floor, what),
    ]

    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PURDAH_DB"] = str(db)
    bin_dir = Path(sys.executable).parent
    purdah = str(bin_dir / "purdah")
    ref = "/".join(pairs[0])
    seconds, floor = wall(
        [purdah, "check", ref, "--at", INSIDE.isoformat()],
        [sys.executable, "-c", "import sqlite3"],
        env,
        args.runs,
    )
    rows.append(
        Row("purdah check (process)", "sqlite", n, seconds, floor, "python -c 'import sqlite3'", 3)
    )
    tables = [str(bin_dir / "sqlite-utils"), "tables", str(db)]
    for command in (
        ["council", "list"],
        ["windows"],
        ["windows", "--council", pairs[0][0]],
        ["history"],
    ):
        seconds, floor = wall([purdah, *command], tables, env, args.runs)
        label = f"purdah {' '.join(command)} (process)"
        rows.append(Row(label, "sqlite", n, seconds, floor, "sqlite-utils tables", 2, peak_mb()))
    emit(rows)


if __name__ == "__main__":
    main()
