"""`make bench`: every benchmark that reports with bench/common.py, on SQLite and (when a
server is reachable) PostgreSQL, at each register size, as one table and a scaling curve.

Which benches take part (the convention): a file bench/bench_*.py whose `main()` takes
`--councillors N` and reports with `common.emit` (so its source names both). It is run on
PostgreSQL too when it also takes `--pg URL`, and then measures that store only. A bench
that cannot run at every size says so with `MOST_COUNCILLORS = N` (and a comment saying
why): larger sizes are not run, and the table's notes say so. Each run is a child
process of its own, capped in memory (RLIMIT_AS) and time, with $PURDAH_BENCH_OUT naming
the file its rows are appended to and $PURDAH_BENCH_CACHE a folder where
`national.build` keeps each SQLite register it built, so that the benches of one size
share one build. Each PostgreSQL run gets a fresh database on the server, dropped
afterwards.

PostgreSQL: $PURDAH_BENCH_PG_URL (or --pg) names a server; otherwise one is started with
.ci/postgres on port $PURDAH_PG_PORT (54337 by default) unless --no-pg. A run that fails,
times out or hits the memory cap is reported in the table's notes, never dropped.

    make bench                 # 1k, 10k and 100k councillors
    make bench-1m              # and 1,000,000
    .venv/bin/python bench/run.py --scales 1000 --only bench_http --no-pg
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from common import Row, format_time  # noqa: E402

DEFAULT_SCALES = (1_000, 10_000, 100_000)
DEFAULT_PG_PORT = "54337"
_TAKES_COUNCILLORS = re.compile(r"""["']--councillors["']""")
_TAKES_PG = re.compile(r"""["']--pg["']""")
_EMITS = re.compile(r"\bemit\(")
_MOST = re.compile(r"^MOST_COUNCILLORS = ([\d_]+)", re.MULTILINE)


@dataclass(frozen=True)
class Bench:
    name: str  # file stem, e.g. bench_http
    path: Path
    takes_pg: bool
    most: int | None = None  # MOST_COUNCILLORS: the largest register it runs at


@dataclass
class Run:
    bench: Bench
    store: str
    councillors: int
    seconds: float = 0.0
    status: str = "ok"  # ok, or what went wrong (or why it was not run)
    skipped: bool = False  # not run at this size (MOST_COUNCILLORS): said, not a failure
    other_sizes: int = 0  # rows it reported at another size, left out (that size's run stands)
    rows: list[Row] = field(default_factory=list)
    log: Path | None = None


def discover(folder: Path = HERE) -> tuple[list[Bench], list[str]]:
    """(the benches that follow the convention, the names of those that do not)."""
    found, other = [], []
    for path in sorted(folder.glob("bench_*.py")):
        text = path.read_text(encoding="utf-8")
        if _TAKES_COUNCILLORS.search(text) and _EMITS.search(text) and "def main(" in text:
            most = _MOST.search(text)
            found.append(
                Bench(
                    path.stem,
                    path,
                    bool(_TAKES_PG.search(text)),
                    int(most[1].replace("_", "")) if most else None,
                )
            )
        else:
            other.append(path.name)
    return found, other


def parse_scales(text: str) -> list[int]:
    scales = []
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        match = re.fullmatch(r"(\d+(?:\.\d+)?)([kKmM]?)", part)
        if match is None:
            raise SystemExit(
                f"bench: scale {part!r} is not a number of councillors: write e.g. 1000,10k,100k,1m"
            )
        number = float(match[1]) * {"": 1, "k": 1_000, "m": 1_000_000}[match[2].lower()]
        if number < 10:
            raise SystemExit(f"bench: scale {part!r} is under 10 councillors (one council)")
        scales.append(int(number))
    if not scales:
        raise SystemExit("bench: no scale given: write e.g. --scales 1000,10000")
    return scales


# --- PostgreSQL -----------------------------------------------------------------------


def find_pg(args: argparse.Namespace) -> tuple[str | None, str]:
    """(a server URL, or None; how it was found or why there is none)."""
    url = args.pg or os.environ.get("PURDAH_BENCH_PG_URL")
    if url:
        return url, "given"
    if args.no_pg:
        return None, "not asked for (--no-pg)"
    script = ROOT / ".ci" / "postgres"
    if not script.exists():
        return None, "no PURDAH_BENCH_PG_URL and no .ci/postgres to start one"
    env = {**os.environ, "PURDAH_PG_PORT": os.environ.get("PURDAH_PG_PORT", DEFAULT_PG_PORT)}
    started = subprocess.run(
        ["bash", str(script)], env=env, capture_output=True, text=True, timeout=600
    )
    if started.returncode != 0:
        last = (started.stderr.strip().splitlines() or ["(no output)"])[-1]
        return None, f".ci/postgres failed ({last})"
    return started.stdout.strip().splitlines()[-1], f".ci/postgres on port {env['PURDAH_PG_PORT']}"


def _pg_admin(url: str) -> Any:
    import psycopg

    plain = url.replace("postgresql+psycopg://", "postgresql://", 1)
    return psycopg.connect(plain, autocommit=True)


def pg_version(url: str) -> str:
    with _pg_admin(url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


def fresh_database(url: str, name: str) -> str:
    with _pg_admin(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + "/" + name


def drop_database(url: str, name: str) -> None:
    with _pg_admin(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def drop_templates(url: str, cache: str) -> None:
    """The template databases national.build kept for this run's cache."""
    from national import template_prefix

    with _pg_admin(url) as conn:
        names = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s",
            (template_prefix(cache) + "%",),
        ).fetchall()
        for (name,) in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- running --------------------------------------------------------------------------


def _cap(mem_mb: int) -> Any:
    def limit() -> None:
        cap = mem_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    return limit


def run_one(
    run: Run,
    *,
    pg_url: str | None,
    work: Path,
    mem_mb: int,
    timeout: float,
    quiet: bool,
    quick: bool = False,
) -> None:
    out = work / f"{run.bench.name}-{run.store}-{run.councillors}.jsonl"
    run.log = work / f"{run.bench.name}-{run.store}-{run.councillors}.log"
    cmd = [sys.executable, str(run.bench.path), "--councillors", str(run.councillors)]
    database = None
    if run.store == "postgresql":
        assert pg_url is not None
        database = f"purdah_bench_{os.getpid()}_{run.bench.name}_{run.councillors}"
        cmd += ["--pg", fresh_database(pg_url, database)]
    env = {
        **os.environ,
        "PURDAH_BENCH_OUT": str(out),
        "PURDAH_BENCH_CACHE": str(work / "registers"),
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(HERE), os.environ.get("PYTHONPATH", "")]),
    }
    if quick:
        env["PURDAH_BENCH_QUICK"] = "1"
    started = time.perf_counter()
    try:
        with run.log.open("w", encoding="utf-8") as log:
            done = subprocess.run(
                cmd,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                preexec_fn=_cap(mem_mb),
                check=False,
            )
        if done.returncode != 0:
            text = run.log.read_text(encoding="utf-8", errors="replace")
            memory = "MemoryError" in text or done.returncode in (-9, 137)
            lines = text.strip().splitlines() or ["(no output)"]
            # The exception's own line says more than a traceback's trailing link.
            raised = [x for x in lines if re.match(r"^[\w.]+(Error|Exception|Exit)\b", x)]
            last = (raised or lines)[-1][:200]
            run.status = (
                f"failed (exit {done.returncode}"
                + (f", memory cap {mem_mb} MB" if memory else "")
                + f"): {last}"
            )
    except subprocess.TimeoutExpired:
        run.status = f"timed out after {timeout:g} s"
    finally:
        if database is not None and pg_url is not None:
            drop_database(pg_url, database)
    run.seconds = time.perf_counter() - started
    if out.exists():
        for line in out.read_text(encoding="utf-8").splitlines():
            data = json.loads(line)
            fields = {k: data[k] for k in Row.__dataclass_fields__ if k in data}
            row = Row(**fields)
            if row.councillors == run.councillors:
                run.rows.append(row)
            else:  # a reference at another size (bench_reconcile's idle tick at 1,000)
                run.other_sizes += 1
    if run.status == "ok" and not run.rows:
        run.status = "reported no rows"
    if not quiet:
        print(
            f"bench: {run.bench.name} {run.store} {run.councillors:,}: "
            f"{len(run.rows)} rows in {run.seconds:.0f} s"
            + ("" if run.status == "ok" else f": {run.status} (log: {run.log})"),
            flush=True,
        )


# --- the report -----------------------------------------------------------------------


def machine(pg: str | None, pg_note: str) -> dict[str, str]:
    memory = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": str(os.cpu_count()),
        "memory": memory,
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": (pg_version(pg) if pg else f"not measured: {pg_note}"),
        "commit": (commit or "?") + (" (with uncommitted changes)" if dirty else ""),
    }


def _scale(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


def report(runs: list[Run], facts: dict[str, str], left_out: list[str]) -> str:
    lines = [
        "# purdah benchmarks",
        "",
        f"{facts['date']}; {facts['cores']} cores, {facts['memory']}, load {facts['load']} at "
        f"the start; Python {facts['python']}, SQLite {facts['sqlite']}, PostgreSQL "
        f"{facts['postgresql']}; commit {facts['commit']}.",
        "",
        "Each figure is a ratio to its floor measured in the same run (time / floor: lower "
        "is better; for HTTP, the floor is the peer's time per request, so 1.25x is 0.8x of "
        "its throughput).",
        "",
        "| path | store | councillors | time | floor | ratio | goal | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    rows = [r for run in runs for r in run.rows]
    order = {name: i for i, name in enumerate(dict.fromkeys(r.path for r in rows))}
    rows.sort(key=lambda r: (order[r.path], r.store, r.councillors))
    for r in rows:
        goal = f"<= {r.goal:g}x" if r.goal is not None else "-"
        lines.append(
            f"| {r.path} | {r.store} | {r.councillors:,} | {format_time(r.seconds)} | "
            f"{r.floor}: {format_time(r.floor_seconds)} | {r.ratio:.2f}x | {goal} | {r.verdict} |"
        )
    scales = sorted({r.councillors for r in rows})
    if scales:
        lines += [
            "",
            "## Scaling: time, time per councillor (time / councillors), ratio and peak memory",
            "",
            "A path whose time is flat across sizes (a check, a start-up, an idle tick) costs the "
            "same whatever the register; one whose time per councillor is flat grows with it "
            "linearly.",
            "",
            "| path | store | " + " | ".join(_scale(s) for s in scales) + " |",
            "|---|---|" + "---|" * len(scales),
        ]
        curve: dict[tuple[str, str], dict[int, Row]] = defaultdict(dict)
        for r in rows:
            curve[(r.path, r.store)][r.councillors] = r
        for (path, store), by_scale in curve.items():
            cells = []
            for s in scales:
                r = by_scale.get(s)
                if r is None:
                    cells.append("-")
                    continue
                per = format_time(r.seconds / r.councillors) if r.councillors else "-"
                peak = f", {r.peak_mb:.0f} MB" if r.peak_mb is not None else ""
                cells.append(f"{format_time(r.seconds)} = {per}/c ({r.ratio:.2f}x{peak})")
            lines.append(f"| {path} | {store} | " + " | ".join(cells) + " |")
    notes = [
        f"- {run.bench.name} on {run.store} at {run.councillors:,}: {run.status}"
        for run in runs
        if run.status != "ok"
    ]
    notes += [
        f"- {run.bench.name} on {run.store} at {run.councillors:,} also reported "
        f"{run.other_sizes} rows at other sizes (references it measures again), left out: "
        "each size's own run stands"
        for run in runs
        if run.other_sizes
    ]
    if left_out:
        notes.append(
            "- not in this harness (no `--councillors` or no `common.emit`): " + ", ".join(left_out)
        )
    if notes:
        lines += ["", "## Notes", "", *notes]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="make bench: every benchmark that reports with bench/common.py, on SQLite "
        "and PostgreSQL, at each register size; one table and the scaling curve.",
        epilog="Benches: bench/bench_*.py whose main() takes --councillors (and --pg) and "
        "calls common.emit.",
    )
    parser.add_argument(
        "--scales",
        default=os.environ.get("BENCH_SCALES", ",".join(map(str, DEFAULT_SCALES))),
        help="councillors, comma-separated (1000,10k,1m); default $BENCH_SCALES or "
        "1000,10000,100000",
    )
    parser.add_argument("--only", action="append", default=[], help="bench name (repeatable)")
    parser.add_argument("--stores", default="sqlite,postgresql", help="sqlite,postgresql")
    parser.add_argument("--pg", help="a PostgreSQL server URL (default $PURDAH_BENCH_PG_URL)")
    parser.add_argument("--no-pg", action="store_true", help="SQLite only; start no server")
    parser.add_argument(
        "--mem-mb",
        type=int,
        default=int(os.environ.get("BENCH_MEM_MB", 12000)),
        help="address-space cap of each run, MB (default $BENCH_MEM_MB or 12000)",
    )
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per run")
    parser.add_argument(
        "--out", default=str(HERE / "RESULTS.md"), help="the Markdown report (default %(default)s)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="ask each bench for a short run ($PURDAH_BENCH_QUICK=1: fewer requests and "
        "rounds, for the harness's own test)",
    )
    parser.add_argument("--bench-dir", default=str(HERE), help=argparse.SUPPRESS)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    scales = parse_scales(args.scales)
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    for s in stores:
        if s not in ("sqlite", "postgresql"):
            raise SystemExit(f"bench: store {s!r} is not sqlite or postgresql")
    benches, left_out = discover(Path(args.bench_dir))
    if args.only:
        unknown = set(args.only) - {b.name for b in benches}
        if unknown:
            raise SystemExit(
                f"bench: no bench named {', '.join(sorted(unknown))} in the harness; it has "
                + ", ".join(b.name for b in benches)
            )
        benches = [b for b in benches if b.name in args.only]
        left_out = []
    pg, pg_note = (None, "not asked for (--stores)")
    if "postgresql" in stores:
        pg, pg_note = find_pg(args)
        if pg is None:
            print(f"bench: PostgreSQL is not measured: {pg_note}", file=sys.stderr)
    facts = machine(pg, pg_note)
    work = Path(tempfile.mkdtemp(prefix="purdah-bench-run-"))
    runs: list[Run] = []
    try:
        for councillors in scales:
            for bench in benches:
                for store in stores:
                    if store == "postgresql" and (pg is None or not bench.takes_pg):
                        continue
                    run = Run(bench, store, councillors)
                    runs.append(run)
                    if bench.most is not None and councillors > bench.most:
                        run.skipped = True
                        run.status = (
                            f"not run: the bench runs at most {bench.most:,} councillors "
                            f"(MOST_COUNCILLORS in {bench.path.name} says why)"
                        )
                        print(f"bench: {bench.name} {store} {councillors:,}: {run.status}")
                        continue
                    run_one(
                        run,
                        pg_url=pg,
                        work=work,
                        mem_mb=args.mem_mb,
                        timeout=args.timeout,
                        quiet=args.quiet,
                        quick=args.quick,
                    )
                    # Written after every run, so that a run stopped early keeps its rows.
                    Path(args.out).write_text(report(runs, facts, left_out), encoding="utf-8")
        text = report(runs, facts, left_out)
    finally:
        if pg is not None:
            drop_templates(pg, str(work / "registers"))
        failed = any(run.status != "ok" and not run.skipped for run in runs)
        if not failed:
            shutil.rmtree(work, ignore_errors=True)
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)
    print(f"bench: written to {args.out}" + (f"; logs kept in {work}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
