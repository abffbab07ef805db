"""`purdah run`: the scheduler that keeps the flags switched on time (APScheduler 3).

Jobs live in memory; the database holds all state, so stopping and starting at any
moment loses nothing: every tick reconciles as of now and catches up what it missed.
- reconcile at start-up, every `interval` minutes, and at 00:00:05 Europe/London;
- reconcile at the exact next window or exemption boundary, re-planned after every
  reconcile (a date job that fell due while the process was down is simply dropped by
  APScheduler 3; correctness never depends on it, the start-up tick heals everything).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from purdah.clock import LONDON
from purdah.services.reconcile import ReconcileResult, reconcile
from purdah.services.windows import next_boundary
from purdah.store import Store

log = logging.getLogger("purdah.scheduler")

BOUNDARY_JOB = "purdah-next-boundary"
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600}


def _now() -> datetime:
    return datetime.now(LONDON)


class Runner:
    """Owns the store and the scheduler; `tick` is one reconcile plus re-planning."""

    def __init__(
        self, store: Store, *, interval_minutes: int = 15, clock: Callable[[], datetime] = _now
    ) -> None:
        self.store = store
        self.interval = interval_minutes
        self.clock = clock
        self.scheduler: Any = None
        self.last_tick: datetime | None = None
        self.next_boundary: datetime | None = None
        self._lock = threading.Lock()

    def tick(self, reason: str = "tick") -> ReconcileResult:
        with self._lock:
            now = self.clock()
            result = reconcile(self.store, now, actor=f"scheduler ({reason})")
            for change in result.changes:
                ref = result.refs.get(change.councillor_id, str(change.councillor_id))
                log.info(
                    "switch %s %s %s -> %s at %s: %s",
                    ref,
                    change.flag,
                    change.old,
                    change.new,
                    change.at.astimezone(LONDON).isoformat(),
                    change.cause,
                )
            log.info(
                "reconciled (%s) at %s: %d changes, %d missed boundaries caught up",
                reason,
                now.isoformat(timespec="seconds"),
                len(result.changes),
                result.replayed,
            )
            self.last_tick = now
            self.plan(now)
            return result

    def refresh_feeds(self) -> None:
        """Fetch the feeds that are due; each import reconciles, then the boundary job is
        re-planned. A failing feed is logged and keeps its last good data."""
        from purdah.services.feeds import refresh_due

        with self._lock:
            now = self.clock()
            results = refresh_due(self.store, now=now)
            for result in results:
                if result.ok:
                    log.info(
                        "feed %s: %s",
                        result.name,
                        "not modified"
                        if result.not_modified
                        else f"{len(result.report.elections) if result.report else 0} polls",
                    )
                else:
                    log.warning(
                        "feed %s failed (last good data kept; retry at %s): %s",
                        result.name,
                        result.next_due_at,
                        result.error,
                    )
            if results:
                self.plan(now)

    def replan(self) -> None:
        with self._lock:
            self.plan(self.clock())

    def plan(self, now: datetime) -> datetime | None:
        with self.store.read() as conn:
            self.next_boundary = next_boundary(conn, now)
        if self.scheduler is not None and self.next_boundary is not None:
            job = self.scheduler.get_job(BOUNDARY_JOB)
            if job is not None and job.next_run_time == self.next_boundary:
                return self.next_boundary
            self.scheduler.add_job(
                self.tick,
                "date",
                run_date=self.next_boundary,
                args=("boundary",),
                id=BOUNDARY_JOB,
                replace_existing=True,
            )
            log.info("next boundary at %s", self.next_boundary.astimezone(LONDON).isoformat())
        return self.next_boundary

    def build(self, scheduler: Any) -> Any:
        from apscheduler.triggers.cron import CronTrigger

        self.scheduler = scheduler
        scheduler.add_job(
            self.tick,
            "interval",
            minutes=self.interval,
            args=("periodic",),
            id="purdah-periodic",
            replace_existing=True,
        )
        scheduler.add_job(
            self.tick,
            CronTrigger(hour=0, minute=0, second=5, timezone=LONDON),
            args=("midnight",),
            id="purdah-midnight",
            replace_existing=True,
        )
        scheduler.add_job(
            self.refresh_feeds, "interval", minutes=1, id="purdah-feeds", replace_existing=True
        )
        # Windows added by another process (a clerk's command) get their exact boundary job
        # within a minute; planning only reads the earliest upcoming boundary and writes nothing.
        scheduler.add_job(
            self.replan, "interval", minutes=1, id="purdah-replan", replace_existing=True
        )
        return scheduler

    def run_forever(self, extra_jobs: Callable[[Any], None] | None = None) -> None:
        """Run until SIGINT or SIGTERM. The jobs run on a background scheduler; the main
        thread only waits for a stop signal, so a signal at any moment (even before the
        scheduler has started) stops cleanly."""
        from apscheduler.schedulers.background import BackgroundScheduler

        stop = threading.Event()

        def on_signal(signum: int, _frame: Any) -> None:
            log.info("received %s: stopping", signal.Signals(signum).name)
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        scheduler = self.build(BackgroundScheduler(timezone=LONDON, job_defaults=JOB_DEFAULTS))
        if extra_jobs:
            extra_jobs(scheduler)
        scheduler.start()
        try:
            if not stop.is_set():
                self.tick("start-up")
            stop.wait()
        finally:
            scheduler.shutdown(wait=True)
            log.info("stopped")
