"""`purdah run`: planning the next boundary, restarts, and a clean stop on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta

from purdah.clock import LONDON
from purdah.scheduler import BOUNDARY_JOB, JOB_DEFAULTS, Runner
from purdah.services.elections import add_election
from purdah.services.history import history
from tests.services.helpers import SETUP, nottinghamshire

START = datetime(2026, 3, 30, tzinfo=LONDON)
END = datetime(2026, 5, 7, 22, tzinfo=LONDON)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_tick_plans_the_exact_next_boundary_and_switches_there(sqlite_store):
    nottinghamshire(sqlite_store)
    add_election(sqlite_store, "local.selston.2026-05-07", nation="ENG", now=SETUP)
    clock = Clock(datetime(2026, 3, 29, 12, tzinfo=LONDON))
    runner = Runner(sqlite_store, clock=clock)
    assert runner.tick().changes == []
    assert runner.next_boundary == START
    clock.now = START
    assert len(runner.tick("boundary").changes) == 5
    assert runner.next_boundary == END


def test_stop_and_start_across_a_boundary_switches_once(sqlite_store):
    nottinghamshire(sqlite_store)
    add_election(sqlite_store, "local.selston.2026-05-07", nation="ENG", now=SETUP)
    Runner(sqlite_store, clock=Clock(START - timedelta(hours=1))).tick()
    # The process was stopped over the boundary; a new one starts later.
    later = Runner(sqlite_store, clock=Clock(START + timedelta(days=2)))
    assert len(later.tick("start-up").changes) == 5
    assert later.tick("periodic").changes == []
    jane = [h for h in history(sqlite_store, "selston/jane-doe") if h.flag == "may_promote"]
    assert [(h.at, h.new) for h in jane] == [(START, False)]


def test_scheduler_jobs_are_registered_with_safe_defaults(sqlite_store):
    nottinghamshire(sqlite_store)
    add_election(sqlite_store, "local.selston.2026-05-07", nation="ENG", now=SETUP)
    runner = Runner(sqlite_store, clock=Clock(datetime(2026, 3, 1, tzinfo=LONDON)))
    scheduler = runner.build(Runner.new_scheduler())
    runner.tick()
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {
        "purdah-periodic",
        "purdah-midnight",
        "purdah-watch",
        "purdah-heartbeat",
        "purdah-feeds",
        BOUNDARY_JOB,
    }
    assert jobs["purdah-feeds"].executor == "feeds"  # a slow feed holds only its own thread
    boundary = jobs[BOUNDARY_JOB].trigger.run_date
    assert boundary == START
    midnight = jobs["purdah-midnight"].trigger
    assert str(midnight) == "cron[hour='0', minute='0', second='5']"


def test_purdah_run_stops_cleanly_on_sigterm(tmp_path):
    env = {**os.environ, "PURDAH_DB": str(tmp_path / "run.db")}
    purdah = [sys.executable, "-m", "purdah"]
    subprocess.run([*purdah, "init"], env=env, check=True, capture_output=True)
    proc = subprocess.Popen([*purdah, "run"], env=env, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            lines.append(line)
            if "reconciled (start-up)" in line:
                break
        assert any("reconciled (start-up)" in line for line in lines), lines
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=20)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert "received SIGTERM: stopping" in rest


def test_replan_picks_up_a_window_added_by_another_process(sqlite_store):
    from apscheduler.schedulers.background import BackgroundScheduler

    nottinghamshire(sqlite_store)
    scheduler = BackgroundScheduler(timezone=LONDON, job_defaults=JOB_DEFAULTS)
    runner = Runner(sqlite_store, clock=Clock(datetime(2026, 3, 1, tzinfo=LONDON)))
    runner.build(scheduler)
    runner.tick()
    assert scheduler.get_job(BOUNDARY_JOB) is None  # nothing to plan yet
    add_election(sqlite_store, "local.selston.2026-05-07", nation="ENG", now=SETUP)
    runner.replan()
    assert scheduler.get_job(BOUNDARY_JOB).trigger.run_date == START


def test_run_with_serve_answers_http_and_stops_cleanly(tmp_path):
    import json
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PURDAH_DB": str(tmp_path / "run.db")}
    purdah = [sys.executable, "-m", "purdah"]
    subprocess.run([*purdah, "init"], env=env, check=True, capture_output=True)
    proc = subprocess.Popen(
        [*purdah, "run", "--serve", "--port", str(port)], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        body = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and body is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    body = json.load(r)
            except OSError:
                time.sleep(0.2)
        assert body is not None and body["ok"] and body["scheduler"]["in_process"]
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
