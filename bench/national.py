"""The national register the benchmarks share, built in a SQLite file or on PostgreSQL.

`build(url_or_path, councils, per_council)`: councils in a county > district > parish
hierarchy, `per_council` councillors each, the scheduled UK polls 2026-2031 and their
windows, reconciled once at SETUP. `at(store, when)` sets a store's clock; `per_call`
times a function. Every bench imports these instead of building its own register.
"""

from __future__ import annotations

import statistics
import time
from datetime import datetime

import sqlalchemy as sa

from purdah.clock import LONDON
from purdah.models import council_area_t, council_t, councillor_t, election_t
from purdah.services.reconcile import reconcile
from purdah.services.windows import recompute_windows
from purdah.store import migrate, open_store

SETUP = datetime(2026, 1, 5, 9, tzinfo=LONDON)
# Scheduled polls 2026-2031 (ordinary dates; the general election at its latest).
LOCAL_DATES = ["2026-05-07", "2027-05-06", "2028-05-04", "2029-05-03", "2030-05-02", "2031-05-01"]
# The PCC polls of 4 May 2028 cover every council (each lies within a county): their
# windows start at 00:00 on 27 March 2028, when every councillor switches.
MASS_BOUNDARY = datetime(2028, 3, 27, tzinfo=LONDON)


def build(db: object, councils: int, per_council: int) -> tuple[int, int, int]:
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
