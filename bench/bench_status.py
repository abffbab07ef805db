"""Status of everyone: the service, `purdah status --json` as a process, and the first page
of /api/status, each against its floor measured in the same run, at 1k, 10k and 100k
councillors (more with --councillors), on SQLite or (with --pg URL) PostgreSQL.

Floors: the service against one SQL query returning every councillor's effective flags
(windows in force joined per councillor), fetched by the bare driver; the command against
that query run by the sqlite3 / psql command-line client writing the same number of bytes
(the query's rows padded to the command's size); the first page against the same query
limited to the page's size, by the bare driver. Registers come from bench/national.py,
each built in a child process, so the peak memory reported is the measuring process's.

    .venv/bin/python bench/bench_status.py [--councillors 1000 --councillors 100000]
        [--pg postgresql+psycopg://...] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from common import Row, emit, peak_mb
from national import MASS_BOUNDARY

from purdah.store import open_store

INSIDE = MASS_BOUNDARY + timedelta(hours=12)  # every councillor restricted (the PCC polls)
GOAL = 1.5
PER_COUNCIL = 10

# Effective flags in SQL: a window in force for the council (and the councillor's ward,
# where it is ward-scoped) restricts both flags; posting also needs the council's agreement.
FLOOR_SQL = """
SELECT c.slug || '/' || p.slug AS councillor, p.name,
  p.agreed_may_post AND NOT EXISTS ({live}) AS may_post,
  NOT EXISTS ({live}) AS may_promote,
  p.may_post AS stored_may_post, p.may_promote AS stored_may_promote{pad}
FROM councillor p JOIN council c ON c.id = p.council_id
WHERE p.left_at IS NULL ORDER BY c.slug, p.slug{limit}
"""
LIVE = (
    'SELECT 1 FROM "window" w WHERE w.council_id = p.council_id AND w.start <= {at} '
    'AND w."end" > {at} AND (w.ward IS NULL OR w.ward = p.ward)'
)


def floor_sql(dialect: str, *, at: str, pad: int = 0, limit: int | None = None) -> str:
    live = LIVE.format(at=at)
    padding = f", {_pad(dialect, pad)} AS pad" if pad else ""
    return FLOOR_SQL.format(
        live=live, pad=padding, limit=f" LIMIT {limit}" if limit is not None else ""
    )


def _pad(dialect: str, n: int) -> str:
    return f"printf('%{n}s', '')" if dialect == "sqlite" else f"repeat(' ', {n})"


def median(fn: Any, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def process(cmd: list[str], env: dict[str, str], rounds: int) -> tuple[float, int, float | None]:
    """Median wall time and bytes written of a command, and its peak resident MB from one
    more run under GNU time (a forked child's own rusage counts its parent's pages)."""
    times, size = [], 0
    for _ in range(rounds):
        with tempfile.TemporaryFile() as out:
            t0 = time.perf_counter()
            subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.DEVNULL, check=True)
            times.append(time.perf_counter() - t0)
            size = out.seek(0, 2)
    peak = None
    if Path("/usr/bin/time").exists():
        with tempfile.NamedTemporaryFile("r") as report:
            subprocess.run(
                ["/usr/bin/time", "-f", "%M", "-o", report.name, *cmd],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=True,
            )
            peak = int(report.read().split()[-1]) / 1024
    return statistics.median(times), size, peak


def build(target: str, councillors: int) -> None:
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); from national import build; "
        "build(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))"
    )
    subprocess.run(
        [
            *(sys.executable, "-c", code, str(Path(__file__).parent), target),
            *(str(max(councillors // PER_COUNCIL, 1)), str(PER_COUNCIL)),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def measure(url: str, councillors: int, store_name: str, rounds: int) -> list[Row]:
    from fastapi.testclient import TestClient

    from purdah.services.status import status_page
    from purdah.services.tokens import Scope, add_token
    from purdah.web.app import create_app
    from purdah.web.settings import WebSettings

    store = open_store(url)
    dialect = "sqlite" if store.sqlite_path else "postgresql"
    rows: list[Row] = []
    n = sum(1 for _ in status_page(store, INSIDE))  # warm: caches, pages of the file
    if dialect == "sqlite":
        import sqlite3

        raw = sqlite3.connect(f"file:{store.sqlite_path}?mode=ro", uri=True)
        at = "'" + INSIDE.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") + "'"

        def query(sql: str) -> list[Any]:
            return raw.execute(sql).fetchall()
    else:
        import psycopg

        raw = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
        at = f"'{INSIDE.isoformat()}'::timestamptz"

        def query(sql: str) -> list[Any]:
            with raw.cursor() as cur:
                cur.execute(sql)
                return cur.fetchall()

    whole = floor_sql(dialect, at=at)
    assert len(query(whole)) == n, "the floor query and the service disagree on who is listed"
    service_s = median(lambda: sum(1 for _ in status_page(store, INSIDE)), rounds)
    floor_s = median(lambda: query(whole), rounds)
    rows.append(
        Row(
            "status: every councillor, in process (streamed)",
            store_name,
            n,
            service_s,
            floor_s,
            "one SQL query returning effective flags (bare driver)",
            GOAL,
            peak_mb(),
        )
    )

    env = {**os.environ, "PURDAH_DB": url, "NO_COLOR": "1"}
    purdah = str(Path(sys.executable).with_name("purdah"))
    cmd_s, size, cmd_mb = process(
        [purdah, "status", "--at", INSIDE.isoformat(), "--json"], env, rounds
    )
    pad = max(size // max(n, 1) - 120, 0)  # the client's rows are ~120 bytes unpadded
    if dialect == "sqlite":
        client = ["sqlite3", "-json", str(store.sqlite_path), floor_sql(dialect, at=at, pad=pad)]
    else:
        client = [
            "psql",
            "-X",
            "-q",
            "-A",
            "-t",
            url.replace("postgresql+psycopg://", "postgresql://"),
        ]
        client += ["-c", floor_sql(dialect, at=at, pad=pad)]
    client_s, client_size, _ = process(client, env, rounds)
    rows.append(
        Row(
            f"purdah status --json, whole process ({size / 1e6:.1f} MB written; "
            f"floor {client_size / 1e6:.1f} MB)",
            store_name,
            n,
            cmd_s,
            client_s,
            f"the floor query by the {client[0]} client, rows padded to the same bytes",
            GOAL,
            cmd_mb,  # the command process's own peak
        )
    )

    secret = add_token(store, "bench", Scope.READ).secret  # a write: after the timings above
    app = create_app(store, clock=lambda: INSIDE, settings=WebSettings(rate_limit=None))
    with TestClient(app, headers={"Authorization": f"Bearer {secret}"}) as http:
        first = http.get("/api/status")
        assert first.status_code == 200, first.text
        page = len(first.json()["councillors"])
        api_s = median(lambda: http.get("/api/status").raise_for_status(), max(rounds, 5))
    limited = floor_sql(dialect, at=at, limit=page)
    api_floor = median(lambda: query(limited), max(rounds, 5))
    rows.append(
        Row(
            f"GET /api/status, first page ({page:,} councillors)",
            store_name,
            n,
            api_s,
            api_floor,
            "the floor query for the page's rows (bare driver)",
            None,
            peak_mb(),
        )
    )
    raw.close()
    store.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--councillors", type=int, action="append", help="register size (repeatable)"
    )
    parser.add_argument(
        "--pg", metavar="URL", help="measure on this PostgreSQL database instead of SQLite"
    )
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sizes = args.councillors or [1_000, 10_000, 100_000]
    rows: list[Row] = []
    tmp = Path(tempfile.mkdtemp(prefix="purdah-bench-status-"))
    for size in sorted(sizes):
        if not args.pg:  # bench/run.py runs each store on its own
            db = tmp / f"status-{size}.db"
            build(str(db), size)
            rows += measure(f"sqlite:///{db}", size, "sqlite", args.rounds)
            for leftover in tmp.glob(f"{db.name}*"):  # with its -wal and -shm
                leftover.unlink()
        else:
            _reset(args.pg)
            build(args.pg, size)
            _analyze(args.pg)
            rows += measure(args.pg, size, "postgresql", args.rounds)
    emit(rows)
    tmp.rmdir()
    for r in rows:
        if r.peak_mb is not None:
            print(f"peak {r.peak_mb:.0f} MB: {r.path} ({r.store}, {r.councillors:,})")


def _analyze(url: str) -> None:
    """Planner statistics for the new register, as autovacuum would soon have them (a
    fresh register without them can get a poor plan for the streamed read)."""
    import sqlalchemy as sa

    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text("ANALYZE"))
    engine.dispose()


def _reset(url: str) -> None:
    """An empty database for the next register (the bench owns the one it is given)."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


if __name__ == "__main__":
    main()
