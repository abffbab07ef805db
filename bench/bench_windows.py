"""Windows recomputed for what a change covers, on the national register (bench/national.py).

Measured: `election add` of a parish by-election (one council), a district poll (the
district and its parishes) and a county poll (the county, its districts and their
parishes), and the import of a small calendar (three parish polls); each as the whole
service call (area checks, the insert, the windows, reconcile, the commit) and as the
window recompute alone. Floor: the raw INSERT of the same window rows by the database
alone (one executemany through the driver, in a transaction rolled back after the rows
are deleted). The goal is absolute, under 100 ms (issue 12); it is shown as the ratio to
the floor that 100 ms is, so the verdict column says whether it is met.

    .venv/bin/python bench/bench_windows.py [--councillors 1000 10000 100000] [--pg URL]

With --pg URL the register is built on PostgreSQL instead (the database at URL is emptied:
its public schema dropped); without it, in a SQLite file.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

import purdah.services.elections as elections_service
import purdah.services.importer as importer_service
from purdah.clock import LONDON
from purdah.models import election_t, window_t
from purdah.services.elections import add_election
from purdah.services.importer import ImportOptions, import_sources
from purdah.store import Store, open_store

sys.path.insert(0, str(Path(__file__).parent))

from common import Row, emit, peak_mb
from national import at, build

GOAL_SECONDS = 0.100
ROUNDS = 5
WHEN = datetime(2026, 2, 2, 9, tzinfo=LONDON)  # after the register's SETUP
THURSDAYS = [date(2026, 11, 5) + timedelta(weeks=n) for n in range(0, 40)]


class Timed:
    """Wraps recompute_windows where the services call it, to time it alone."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self.original = elections_service.recompute_windows

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return self.original(*args, **kwargs)
        finally:
            self.seconds.append(time.perf_counter() - t0)

    def install(self) -> None:
        elections_service.recompute_windows = self  # type: ignore[assignment]
        importer_service.recompute_windows = self  # type: ignore[assignment]


def floor_insert(store: Store, election_ids: list[str]) -> float:
    """Seconds to INSERT the windows of these elections again, raw, by the database."""
    with store.engine.connect() as conn:
        tx = conn.begin()
        try:
            pks = list(
                conn.execute(
                    sa.select(election_t.c.id).where(election_t.c.election_id.in_(election_ids))
                ).scalars()
            )
            cols = [c.name for c in window_t.columns]
            quoted = ", ".join(f'"{c}"' for c in cols)
            rows = [
                tuple(r)
                for r in conn.exec_driver_sql(
                    f'SELECT {quoted} FROM "window" WHERE election_pk IN '
                    f"({', '.join(str(p) for p in pks) or 'NULL'})"
                )
            ]
            if not rows:
                return 0.0
            conn.exec_driver_sql(
                f'DELETE FROM "window" WHERE election_pk IN ({", ".join(str(p) for p in pks)})'
            )
            marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
            sql = f'INSERT INTO "window" ({quoted}) VALUES ({", ".join([marker] * len(cols))})'
            t0 = time.perf_counter()
            conn.exec_driver_sql(sql, rows)
            return time.perf_counter() - t0
        finally:
            tx.rollback()


def calendar(folder: Path, name: str, days: list[Any]) -> str:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//purdah bench//EN"]
    for n, day in enumerate(days):
        lines += [
            "BEGIN:VEVENT",
            f"UID:{name}-{n}",
            f"DTSTART;VALUE=DATE:{day:%Y%m%d}",
            "SUMMARY:Parish council election",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    path = folder / f"{name}.ics"
    path.write_text("\r\n".join(lines) + "\r\n")
    return str(path)


def measure(
    store: Store, timed: Timed, make: Callable[[int], list[str]]
) -> tuple[float, float, float, int]:
    """Median of ROUNDS: whole call, recompute alone, floor; and windows added per round."""
    whole, alone, floors, added = [], [], [], []
    for i in range(ROUNDS):
        at(store, WHEN + timedelta(minutes=i + 1))
        timed.seconds.clear()
        t0 = time.perf_counter()
        ids = make(i)
        whole.append(time.perf_counter() - t0)
        alone.append(sum(timed.seconds))
        floors.append(floor_insert(store, ids))
        with store.read() as conn:
            added.append(
                conn.execute(
                    sa.select(sa.func.count())
                    .select_from(window_t.join(election_t))
                    .where(election_t.c.election_id.in_(ids))
                ).scalar_one()
            )
    return (
        statistics.median(whole),
        statistics.median(alone),
        statistics.median(floors),
        int(statistics.median(added)),
    )


def bench(url: str, kind: str, councillors: int, per_council: int, folder: Path) -> list[Row]:
    councils = max(councillors // per_council, 10)
    build(url, councils, per_council)
    store = open_store(url)
    timed = Timed()
    timed.install()
    counties = max(councils // 250, 1)
    districts = max(councils // 30, 1)
    parishes = councils - counties - districts
    # Warm-up: the first write imports the holiday tables and fills caches.
    at(store, WHEN)
    add_election(store, f"local.parish-{parishes - 1}.warm.by.{THURSDAYS[-1]}")

    def parish(i: int) -> list[str]:
        eid = f"local.parish-{(i * 7 + 1) % parishes}.north.by.{THURSDAYS[i]}"
        add_election(store, eid)
        return [eid]

    def district(i: int) -> list[str]:
        eid = f"local.district-{(i * 3 + 1) % districts}.{THURSDAYS[10 + i]}"
        add_election(store, eid)
        return [eid]

    def county(i: int) -> list[str]:
        eid = f"local.county-{i % counties}.{THURSDAYS[20 + i]}"
        add_election(store, eid)
        return [eid]

    def calendar_import(i: int) -> list[str]:
        council = f"parish-{(i * 11 + 3) % parishes}"
        days = THURSDAYS[30 + i : 33 + i]
        path = calendar(folder, f"{kind}-{councillors}-{i}", days)
        report = import_sources(store, [path], ImportOptions(council=council))
        assert report.windows is not None and report.windows.full is None, report.windows
        return [p.election_id for p in report.elections]

    rows = []
    for label, make in (
        ("election add: parish by-election", parish),
        ("election add: district poll", district),
        ("election add: county poll", county),
        ("import: a calendar of 3 parish polls", calendar_import),
    ):
        whole, alone, floor_s, added = measure(store, timed, make)
        floor_name = f"raw INSERT of its {added} window rows"
        goal = GOAL_SECONDS / floor_s if floor_s else None
        for what, seconds in (("whole call", whole), ("window recompute alone", alone)):
            rows.append(
                Row(
                    f"{label}, {what} (goal < 100 ms)",
                    kind,
                    councillors,
                    seconds,
                    floor_s,
                    floor_name,
                    goal,
                    peak_mb(),
                )
            )
    store.close()
    return rows


def _empty_pg(url: str) -> None:
    store = Store(url)
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--councillors", type=int, nargs="+", default=[1_000, 10_000, 100_000], metavar="N"
    )
    parser.add_argument("--per-council", type=int, default=10)
    parser.add_argument(
        "--pg", metavar="URL", help="on PostgreSQL instead of SQLite (the database is emptied)"
    )
    args = parser.parse_args()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="purdah-bench-windows-") as tmp:
        folder = Path(tmp)
        for n in args.councillors:
            if args.pg:  # the store asked for (bench/run.py runs each store on its own)
                _empty_pg(args.pg)
                rows += bench(args.pg, "postgresql", n, args.per_council, folder)
            else:
                path = str(folder / f"national-{n}.db")
                rows += bench(path, "sqlite", n, args.per_council, folder)
    emit(rows)


if __name__ == "__main__":
    main()
