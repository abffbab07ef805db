"""The national register the benchmarks share, built in a SQLite file or on PostgreSQL.

`build(url_or_path, councils, per_council)`: councils in a county > district > parish
hierarchy, `per_council` councillors each, the scheduled UK polls 2026-2031 and their
windows, reconciled once at SETUP; rows go in through the driver (sqlite3 executemany,
PostgreSQL COPY). `scale(councillors)` gives (councils, per_council) for a bench's
`--councillors`. With $PURDAH_BENCH_CACHE set (bench/run.py sets it), each size is built
once and copied (a file; a template database). `at(store, when)` sets a store's clock;
`per_call` times a function. Every bench imports these instead of building its own.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import statistics
import time
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from purdah.clock import LONDON
from purdah.models import UTCDateTime, council_area_t, council_t, councillor_t, election_t
from purdah.services.reconcile import reconcile
from purdah.services.windows import recompute_windows
from purdah.store import db_instant, migrate, open_store

SETUP = datetime(2026, 1, 5, 9, tzinfo=LONDON)
# Scheduled polls 2026-2031 (ordinary dates; the general election at its latest).
LOCAL_DATES = ["2026-05-07", "2027-05-06", "2028-05-04", "2029-05-03", "2030-05-02", "2031-05-01"]
# The PCC polls of 4 May 2028 cover every council (each lies within a county): their
# windows start at 00:00 on 27 March 2028, when every councillor switches.
MASS_BOUNDARY = datetime(2028, 3, 27, tzinfo=LONDON)


PER_COUNCIL = 10  # councillors per council when a bench is given --councillors


def scale(councillors: int) -> tuple[int, int]:
    """(councils, per_council) for a register of about `councillors` (at least 3 councils:
    a county, a district and a parish)."""
    return max(councillors // PER_COUNCIL, 3), PER_COUNCIL


def build(db: object, councils: int, per_council: int) -> tuple[int, int, int]:
    """The register in `db` (a SQLite file path, or a database URL such as
    postgresql+psycopg://...): (councils, councillors, windows). With $PURDAH_BENCH_CACHE
    naming a folder, a SQLite register of the same size built there before (by this same
    national.py) is copied instead of built again."""
    cache = os.environ.get("PURDAH_BENCH_CACHE")
    target = str(db)
    is_file = "://" not in target
    if cache and target.startswith("postgresql"):
        return _from_template(target, cache, councils, per_council)
    if cache and is_file:
        key = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]
        kept = Path(cache) / f"national-{councils}x{per_council}-{key}.db"
        facts = kept.with_suffix(".json")
        if not facts.exists():
            Path(cache).mkdir(parents=True, exist_ok=True)
            built = _build(kept, councils, per_council)
            facts.write_text(json.dumps(built))
        else:
            print(f"register: {councils} councils x {per_council}, copied from {kept}")
        shutil.copyfile(kept, target)
        return tuple(json.loads(facts.read_text()))  # type: ignore[return-value]
    return _build(db, councils, per_council)


def template_prefix(cache: str) -> str:
    """The names of the PostgreSQL template databases kept for the cache folder `cache`
    (the harness drops them when it is done)."""
    return "purdah_tpl_" + hashlib.sha256(cache.encode()).hexdigest()[:10]


def _admin(url: str):
    import psycopg

    server = url.replace("postgresql+psycopg://", "postgresql://", 1).rsplit("/", 1)[0]
    return psycopg.connect(server + "/postgres", autocommit=True)


def _from_template(url: str, cache: str, councils: int, per_council: int) -> tuple[int, int, int]:
    """PostgreSQL: the register built once into a template database, then the (empty)
    database of `url` made again as a copy of it (CREATE DATABASE ... TEMPLATE)."""
    key = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:8]
    template = f"{template_prefix(cache)}_{key}_{councils}x{per_council}"
    base, target = url.rsplit("/", 1)
    with _admin(url) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            (template,),
        ).fetchone()
    if row is None or not row[0]:
        building = template + "_new"
        with _admin(url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{building}"')
            conn.execute(f'CREATE DATABASE "{building}"')
        facts = _build(f"{base}/{building}", councils, per_council)
        with _admin(url) as conn:
            conn.execute(f'ALTER DATABASE "{building}" RENAME TO "{template}"')
            conn.execute(f"COMMENT ON DATABASE \"{template}\" IS '{json.dumps(facts)}'")
    else:
        facts = tuple(json.loads(row[0]))
        print(f"register: {councils} councils x {per_council}, copied from database {template}")
    with _admin(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{target}" TEMPLATE "{template}"')
    return facts  # type: ignore[return-value]


def _bulk(conn, table, rows: list[dict]) -> None:
    """Insert many rows through the driver itself (sqlite3 executemany, PostgreSQL COPY):
    SQLAlchemy's per-value type processing was half the build at 1M councillors. Columns
    not given take their scalar defaults, as an ORM insert would."""
    if not rows:
        return
    names = [c.name for c in table.columns if c.name != "id"]
    defaults = {
        c.name: c.default.arg
        for c in table.columns
        if c.default is not None and getattr(c.default, "is_scalar", False)
    }
    to_db = db_instant(conn.dialect.name)
    seen: dict[datetime, object] = {}  # the register has few distinct instants

    def instant(v: datetime) -> object:
        if v not in seen:
            seen[v] = to_db(v)
        return seen[v]

    convert = {c.name for c in table.columns if isinstance(c.type, UTCDateTime) and c.name in names}

    def values(row: dict) -> tuple:
        out = []
        for n in names:
            v = row.get(n, defaults.get(n))
            out.append(instant(v) if v is not None and n in convert else v)
        return tuple(out)

    raw = conn.connection.dbapi_connection
    columns = ", ".join(f'"{n}"' for n in names)
    if conn.dialect.name == "postgresql":
        with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(values(row))
    else:
        marks = ", ".join("?" for _ in names)
        raw.cursor().executemany(
            f'INSERT INTO "{table.name}" ({columns}) VALUES ({marks})', map(values, rows)
        )


def _build(db: object, councils: int, per_council: int) -> tuple[int, int, int]:
    started = time.perf_counter()
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
        _bulk(
            conn,
            council_t,
            [
                {k: v for k, v in r.items() if not k.startswith("_")} | {"created_at": SETUP}
                for r in rows
            ],
        )
        ids = dict(conn.execute(sa.select(council_t.c.slug, council_t.c.id)).all())
        for r in rows:
            areas += [{"council_id": ids[r["slug"]], "area": a} for a in r.get("_within", [])]
        _bulk(conn, council_area_t, areas)
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
        _bulk(conn, councillor_t, people)
        inserted_s = time.perf_counter() - started
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
    t0 = time.perf_counter()
    reconcile(at(store, SETUP))
    reconcile_s = time.perf_counter() - t0
    path = store.sqlite_path
    store.close()
    if path is not None:  # one file, so that a cache can copy it
        with sqlite3.connect(path) as raw:
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        raw.close()
    print(
        f"register: {len(rows)} councils, {len(people)} councillors, {len(elections)} polls, "
        f"{changes.added} windows; built in {time.perf_counter() - started:.1f} s (rows "
        f"{inserted_s:.1f} s, windows {windows_s:.1f} s, first reconcile {reconcile_s:.1f} s)"
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
