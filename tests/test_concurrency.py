"""Writes under contention, on SQLite and PostgreSQL: every write decides at the real clock
read once it holds the write lock, waits for the lock (bounded) and says so when it
cannot have it, and the audit stays exact when real processes write at once or are
killed mid-write.

The multi-process tests are bounded by count (fast by default; more with
PURDAH_CONCURRENCY_OPS=<ops per process>, PURDAH_CONCURRENCY_KILLS=<kills>) and print
what they tried (pytest -s shows it):
    PURDAH_CONCURRENCY_OPS=200 PURDAH_CONCURRENCY_KILLS=20 \\
        .venv/bin/python -m pytest -s tests/test_concurrency.py
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from purdah.clock import LONDON
from purdah.decide import Action
from purdah.errors import StoreBusy
from purdah.models import councillor_t, election_t, flag_change_t
from purdah.services.elections import add_election
from purdah.services.history import exempt, history
from purdah.services.importer import ImportOptions, import_sources
from purdah.services.reconcile import last_run, reconcile, reconcile_in
from purdah.services.windows import recompute_windows
from tests.invariants import check_invariants
from tests.services.helpers import nottinghamshire, set_clock

OPS = int(os.environ.get("PURDAH_CONCURRENCY_OPS", "10"))
KILLS = int(os.environ.get("PURDAH_CONCURRENCY_KILLS", "1"))  # rounds of two kills
WORKERS = 3
T = datetime(2026, 4, 10, 12, 0, tzinfo=LONDON)  # inside Selston's window for 7 May 2026
SECOND = timedelta(seconds=1)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _ics(path: Path, *days: date) -> Path:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//purdah tests//EN"]
    for day in days:
        lines += [
            "BEGIN:VEVENT",
            f"UID:poll-{day.isoformat()}@tests",
            f"DTSTART;VALUE=DATE:{day:%Y%m%d}",
            "SUMMARY:Parish council election",
            "END:VEVENT",
        ]
    path.write_text("\r\n".join([*lines, "END:VCALENDAR", ""]), encoding="utf-8")
    return path


def _url(store) -> str:
    return store.sqlite_path or store.url


# --- one instant per write ---------------------------------------------------------------


def test_a_stale_import_cannot_switch_a_flag_back(store, tmp_path):
    """Issue 8, observation 1: an import that started 2 s before an exemption ended
    committed after the scheduler had switched the flag, and switched it back (decided at
    its stale start instant); the correcting switch was then dropped. Now the import
    decides at the instant it reads once it holds the lock: the flag stays right, and the
    history shows the exemption's start and end and nothing else."""
    nottinghamshire(store)
    clock = Clock(T - timedelta(hours=1))
    store.clock = clock
    add_election(store, "local.selston.2026-05-07", nation="ENG")
    exempt(
        store,
        "selston/jane-doe",
        action=Action.POST,
        start=T - timedelta(hours=1),
        end=T,
        reason="emergency: flood warning",
        granted_by="Town Clerk",
    )
    calendar = _ics(tmp_path / "parish.ics", date(2027, 5, 6))
    asked = threading.Event()
    original_write = store.write

    def write():  # the import is about to wait for the lock
        asked.set()
        return original_write()

    failures: list[BaseException] = []

    def run_import() -> None:
        try:
            import_sources(store, [str(calendar)], ImportOptions(council="selston"))
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    clock.now = T + SECOND / 2
    with store.write() as (conn, now):  # the scheduler's boundary tick holds the lock
        clock.now = T - 2 * SECOND  # the import starts 2 s before the exemption ends
        store.write = write
        importer = threading.Thread(target=run_import)
        importer.start()
        assert asked.wait(10)
        time.sleep(0.3)  # it is waiting for the lock now
        clock.now = T + SECOND
        switched = reconcile_in(conn, now, actor="scheduler (boundary)")
    importer.join(30)
    store.write = original_write
    assert not failures, failures
    assert [(c.flag, c.old, c.new, c.at) for c in switched.changes] == [
        ("may_post", True, False, T)
    ]
    clock.now = T + 2 * SECOND
    assert reconcile(store).changes == []  # nothing left to correct
    post = [
        (h.old, h.new, h.at, h.recorded_at, h.actor)
        for h in history(store, "selston/jane-doe")
        if h.flag == "may_post"
    ]
    added = T - timedelta(hours=1)  # the window is recorded (after its start: not backdated)
    assert post == [
        (True, False, added, added, "reconcile"),  # the window
        (False, True, T - timedelta(hours=1), T - timedelta(hours=1), "reconcile"),  # exempt
        (True, False, T, T + SECOND / 2, "scheduler (boundary)"),  # its end; no switch back
    ]
    with store.read() as conn:
        imported = conn.execute(
            sa.select(election_t.c.created_at).where(election_t.c.source_uid.is_not(None))
        ).scalar()
    assert imported == T + SECOND  # stamped with the instant it held the lock
    check_invariants(store)


def _hold_lock_and_run(store, args: list[str], hold: float) -> tuple[datetime, str]:
    """Hold the write lock while `purdah ARGS` starts and waits for it; return the real
    instant the lock was let go (just before) and the command's output."""
    env = {**os.environ, "PURDAH_DB": _url(store)}
    command = [sys.executable, "-m", "purdah", *args]
    with store.write():
        proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        time.sleep(hold)
        released = datetime.now(LONDON)
    out = proc.communicate(timeout=60)[0].decode()
    assert proc.returncode == 0, out
    return released, out


def test_recorded_at_never_precedes_the_lock(store):
    """A write that waited for the lock stamps the instant it got it, not the instant it
    started (the command starts, waits about 2 s, then writes)."""
    _registered(store)
    poll = datetime.now(LONDON).date() + timedelta(days=14)
    election_id = f"local.selston.underwood.by.{poll.isoformat()}"
    released, out = _hold_lock_and_run(
        store, ["election", "add", election_id, "--nation", "ENG", "--json"], hold=2.5
    )
    assert len(json.loads(out)["reconcile"]["changes"]) == 5, out
    with store.read() as conn:
        recorded = conn.execute(sa.select(flag_change_t.c.recorded_at)).scalars().all()
        created = conn.execute(sa.select(election_t.c.created_at)).scalar()
    assert len(recorded) == 5
    assert min(recorded) >= released and created >= released
    check_invariants(store)


def test_a_command_waits_for_the_lock_and_then_reconciles(store):
    """Issue 8, observation 6: on PostgreSQL a reconcile that found the lock taken printed
    "0 flag changes" and exited 0. Now it waits (bounded) and does the work."""
    _registered(store)
    poll = datetime.now(LONDON).date() + timedelta(days=14)
    with store.write() as (conn, now):  # windows recorded without a reconcile
        conn.execute(
            sa.insert(election_t).values(
                election_id=f"local.selston.by.{poll.isoformat()}",
                type="local",
                area="selston",
                nation="ENG",
                poll_date=poll,
                status="scheduled",
                source="manual",
                created_at=now,
                updated_at=now,
            )
        )
        recompute_windows(conn, now)
    _, out = _hold_lock_and_run(store, ["reconcile", "--json"], hold=1.5)
    result = json.loads(out)
    assert len(result["changes"]) == 5 and result["skipped"] is False
    check_invariants(store)


def test_a_lock_held_past_the_wait_is_an_error_or_a_logged_skip(store, monkeypatch, caplog):
    from click.testing import CliRunner

    from purdah.cli import main
    from purdah.scheduler import Runner

    nottinghamshire(store)
    monkeypatch.setattr("purdah.store.LOCK_WAIT", 0.3)
    monkeypatch.setenv("PURDAH_DB", _url(store))
    waiting = type(store)(store.url, clock=store.clock, lock_wait=0.3)
    with store.write():
        with pytest.raises(StoreBusy):
            reconcile(waiting)
        result = CliRunner().invoke(main, ["reconcile"])
        assert result.exit_code == 3, result.output
        assert result.stderr == (
            "Error: another process held the store's write lock for over 0.3 s: nothing was "
            "written; retry (if it persists, look for a stuck purdah process)\n"
        )
        with caplog.at_level(logging.INFO, logger="purdah.scheduler"):
            skipped = Runner(waiting, clock=waiting.clock).tick("periodic")
    waiting.close()
    assert skipped.skipped and skipped.changes == []
    [line] = [r.getMessage() for r in caplog.records if "reconcile" in r.getMessage()]
    assert line.startswith("reconcile (periodic) skipped at ")
    assert line.endswith(": the write lock stayed busy; nothing switched")


def test_reconcile_at_is_a_dry_run_and_says_so(store, monkeypatch):
    """Issue 8, observation 2: `reconcile --at 2027-01-01` (or 9999-12-31) switched the
    stored flags to a future instant's, wrote audit rows dated then and set the
    last-reconcile mark in the future; `--at 2020-01-01` backdated recorded_at."""
    from click.testing import CliRunner

    from purdah.cli import main

    nottinghamshire(store)
    add_election(store, "local.selston.2026-05-07", nation="ENG")
    monkeypatch.setenv("PURDAH_DB", _url(store))
    monkeypatch.setattr("purdah.store.real_clock", lambda: datetime(2026, 3, 1, tzinfo=LONDON))
    reconcile(set_clock(store, datetime(2026, 3, 1, tzinfo=LONDON)))
    with store.read() as conn:
        before = (conn.execute(sa.select(councillor_t)).all(), last_run(conn))
    out = CliRunner().invoke(main, ["reconcile", "--at", "2026-04-01"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[-1] == (
        "dry run: nothing written; a reconcile at Wed 2026-04-01 00:00 BST would make 5 flag "
        "changes (1 missed boundary caught up)"
    )
    assert lines[0].startswith("would switch selston/")
    for when in ("2027-01-01", "9999-12-31", "2020-01-01"):
        result = CliRunner().invoke(main, ["reconcile", "--at", when, "--json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["dry_run"] is True
    with store.read() as conn:
        after = (conn.execute(sa.select(councillor_t)).all(), last_run(conn))
    assert after == before and history(store) == []


# --- real processes --------------------------------------------------------------------


def _worker(url: str, seed: int, ops: int, folder: str, out, progress, writing) -> None:
    """One process of clerk commands and scheduler ticks at the real clock, for `ops`
    operations; counts them in `progress`, sets `writing` while it holds the write lock,
    and reports what it did in `out`."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))  # 1 GiB: never run away
    from purdah.errors import InputError, NotFound
    from purdah.services.elections import cancel_election, move_election
    from purdah.store import open_store

    rng = random.Random(seed)
    store = open_store(url)
    locked_write = store.write

    @contextmanager
    def write():
        with locked_write() as tx:
            writing.value = 1
            try:
                yield tx
            finally:
                writing.value = 0

    store.write = write
    days = [datetime.now(LONDON).date() + timedelta(days=d) for d in range(10, 40)]
    thursdays = [day for day in days if day.weekday() == 3]
    people = ["selston/jane-doe", "selston/sam-roe", "selston/mayor", "gedling/ann-other"]
    done: dict[str, int] = {}
    for _ in range(ops):
        op = rng.choice(["reconcile", "exempt", "exempt", "add", "cancel", "move", "import"])
        poll = rng.choice(thursdays)
        election_id = f"local.{rng.choice(['selston', 'gedling'])}.by.{poll.isoformat()}"
        try:
            if op == "reconcile":
                reconcile(store, actor=f"worker {seed}")
            elif op == "exempt":
                start = datetime.now(LONDON) + timedelta(seconds=rng.uniform(-0.5, 0.5))
                exempt(
                    store,
                    rng.choice(people),
                    action=rng.choice(list(Action)),
                    start=start,
                    end=start + timedelta(seconds=rng.uniform(0.05, 1.0)),
                    reason="emergency",
                    granted_by=f"worker {seed}",
                )
            elif op == "add":
                add_election(store, election_id, nation="ENG")
            elif op == "cancel":
                cancel_election(store, election_id)
            elif op == "move":
                move_election(store, election_id, rng.choice(thursdays))
            else:
                path = _ics(Path(folder) / f"w{seed}.ics", *rng.sample(thursdays, 2))
                import_sources(store, [str(path)], ImportOptions(council="selston"), force=True)
        except (InputError, NotFound):
            op += " (refused)"
        done[op] = done.get(op, 0) + 1
        progress.value += 1
        time.sleep(rng.uniform(0, 0.02))
    store.close()
    out.put(done)


def _start(store, tmp_path, seeds, ops):
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    procs = []
    for seed in seeds:
        progress, writing = context.Value("i", 0), context.Value("i", 0)
        args = (_url(store), seed, ops, str(tmp_path), queue, progress, writing)
        proc = context.Process(target=_worker, args=args)
        proc.progress, proc.writing = progress, writing
        procs.append(proc)
    for proc in procs:
        proc.start()
    return procs, queue


def _registered(store) -> None:
    nottinghamshire(set_clock(store, datetime.now(LONDON) - timedelta(days=1)))
    store.clock = lambda: datetime.now(LONDON)


def test_processes_writing_at_once_lose_and_double_nothing(store, tmp_path):
    _registered(store)
    procs, queue = _start(store, tmp_path, range(WORKERS), OPS)
    done: dict[str, int] = {}
    for _ in procs:
        for op, count in queue.get(timeout=300).items():
            done[op] = done.get(op, 0) + count
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    before = check_invariants(store)
    reconcile(store)  # and the next tick finds the history and the flags consistent
    audit = check_invariants(store)
    print(
        f"\n{store.dialect}: {WORKERS} processes x {OPS} writes: {sum(done.values())} "
        f"operations {dict(sorted(done.items()))}; {before.rows} audit rows, "
        f"{before.councillors} councillors: no change lost, doubled or invented"
    )
    assert sum(done.values()) == WORKERS * OPS and audit.rows >= before.rows


def test_writers_killed_mid_write_leave_an_exact_audit(store, tmp_path):
    """kill -9, at random moments, of writers in the middle of their work: what they had
    not committed is gone as a whole, and the audit still replays to the stored flags."""
    _registered(store)
    rng = random.Random(8)
    killed = completed = mid_write = 0
    for round_ in range(KILLS):
        procs, _queue = _start(store, tmp_path, [100 + round_, 200 + round_], 10_000)
        for proc in procs:
            deadline = time.monotonic() + 60
            while proc.progress.value < 1 and time.monotonic() < deadline:
                time.sleep(0.02)  # until it is writing (start-up takes a second or more)
            time.sleep(rng.uniform(0.1, 0.8))
            mid_write += proc.writing.value  # it holds the lock, its transaction open
            os.kill(proc.pid, signal.SIGKILL)
            killed += 1
            completed += proc.progress.value
        for proc in procs:
            proc.join(30)
            assert proc.exitcode == -signal.SIGKILL
        check_invariants(store)
    with store.read() as conn:
        writes = conn.execute(sa.select(sa.func.count()).select_from(flag_change_t)).scalar()
    reconcile(store)
    audit = check_invariants(store)
    print(
        f"\n{store.dialect}: {killed} writers killed with SIGKILL ({KILLS} rounds of two), "
        f"{mid_write} of them inside an open write transaction, after {completed} completed "
        f"operations; {writes} audit rows before the final "
        f"reconcile, {audit.rows} after, all replaying to the stored flags"
    )
    assert killed == 2 * KILLS and completed >= killed
