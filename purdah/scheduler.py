"""`purdah run`: the scheduler that keeps the flags switched on time (APScheduler 3).

Jobs live in memory; the database holds all state, so stopping and starting at any
moment loses nothing: every tick reconciles as of now and catches up what it missed.
- reconcile at start-up, every `interval` minutes, and at 00:00:05 Europe/London; a tick
  reconciles what changed since the last run, and the start-up and midnight ones sweep
  every council (a safety net: they log how many flags they fixed, which should be 0);
- reconcile at the exact next window or exemption boundary, re-planned after every
  reconcile (a date job that fell due while the process was down is simply dropped by
  APScheduler 3; correctness never depends on it, the start-up tick heals everything);
- a cheap change check every couple of seconds (SQLite `PRAGMA data_version` on one
  long-lived connection; PostgreSQL the server's transaction snapshot) re-plans the
  boundary job as soon as any process has written, so a window or exemption that another
  process adds is switched at its boundary however near it is;
- a reconcile that fails (the database is down) is retried with a bounded back-off;
- feeds are fetched on their own worker, never under the switching lock, each fetch with
  a total deadline; the store is taken only briefly, to import;
- a heartbeat in the store's meta table says that this scheduler is alive (`purdah doctor`,
  /healthz);
- the outbox dispatcher (webhooks) on its own thread, woken by every reconcile that
  switched something: a slow receiver holds only that thread, never the switching lock.

Nothing here blocks switching: the switching lock is held only by a reconcile and by
planning, both short.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from purdah.clock import LONDON
from purdah.ical.fetch import DEADLINE_SECONDS
from purdah.services.doctor import HEARTBEAT_KEY
from purdah.services.reconcile import ReconcileResult, reconcile
from purdah.services.windows import next_boundary
from purdah.store import Store

log = logging.getLogger("purdah.scheduler")

BOUNDARY_JOB = "purdah-next-boundary"
MAIL_JOB = "purdah-mail-plan"
MAIL_PLAN_SECONDS = 60.0
RETRY_JOB = "purdah-retry"
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600}
WATCH_SECONDS = 2.0  # how often the change check runs
REPLAN_SECONDS = 60.0  # re-plan at least this often, changed or not (a backstop)
HEARTBEAT_SECONDS = 30.0
RETRY_FIRST = timedelta(seconds=5)
RETRY_MAX = timedelta(minutes=5)


def _now() -> datetime:
    return datetime.now(LONDON)


def _log_sweep(reason: str, result: ReconcileResult) -> None:
    """A full sweep says how many flags it fixed that the incremental path had missed."""
    if result.fixed is None:
        log.info(
            "full sweep (%s; %s): %d councils reconciled; no earlier run to compare with",
            reason,
            result.full_reason,
            result.councils,
        )
        return
    (log.error if result.fixed else log.info)(
        "full sweep (%s): %d councils reconciled; %d flag changes fixed that the "
        "incremental reconcile had missed",
        reason,
        result.councils,
        result.fixed,
    )


def _first_line(exc: BaseException) -> str:
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return lines[0] if lines else ""


def _wall() -> datetime:
    """The real clock, for APScheduler's run dates (it fires by the real clock)."""
    return datetime.now(UTC)


@dataclass
class Metrics:
    """What this process's scheduler has done since it started (for /metrics)."""

    reconciles: int = 0
    reconcile_failures: int = 0
    reconcile_seconds: float = 0.0
    last_reconcile_seconds: float = 0.0
    changes: int = 0
    boundaries: int = 0
    boundary_lateness_seconds: float = 0.0
    last_boundary_lateness_seconds: float = 0.0
    feed_refreshes: int = 0
    feed_failures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)


class ChangeWatch:
    """Has anything been committed since the last look? Cheap enough to ask every second.

    SQLite: `PRAGMA data_version` on one long-lived connection changes whenever another
    connection (any process) commits. PostgreSQL: the text of the server's current
    transaction snapshot changes whenever any write transaction ends. Both err on the side
    of "changed" (our own writes count too): a false alarm costs one re-plan query."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._conn: sqlite3.Connection | None = None
        self._last: Any = None
        self._lock = threading.Lock()

    def token(self) -> Any:
        path = self.store.sqlite_path
        if path is None:
            import sqlalchemy as sa

            with self.store.read() as conn:
                return conn.execute(sa.text("SELECT txid_current_snapshot()::text")).scalar()
        if self._conn is None:
            self._conn = sqlite3.connect(
                f"file:{path}?mode=ro", uri=True, timeout=5, check_same_thread=False
            )
        return self._conn.execute("PRAGMA data_version").fetchone()[0]

    def changed(self) -> bool:
        with self._lock:
            try:
                token = self.token()
            except Exception:
                self.close()
                raise
            changed = bool(token != self._last)
            self._last = token
            return changed

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._last = None


class Runner:
    """Owns the store and the scheduler; `tick` is one reconcile plus re-planning."""

    def __init__(
        self,
        store: Store,
        *,
        interval_minutes: int = 15,
        clock: Callable[[], datetime] = _now,
        watch_seconds: float = WATCH_SECONDS,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        retry_first: timedelta = RETRY_FIRST,
        retry_max: timedelta = RETRY_MAX,
        fetch_timeout: float = DEADLINE_SECONDS,
        webhooks: bool = True,
        mail: Any = None,
    ) -> None:
        self.store = store
        self.interval = interval_minutes
        self.clock = clock
        self.watch_seconds = watch_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self.retry_first = retry_first
        self.retry_max = retry_max
        self.fetch_timeout = fetch_timeout
        self.scheduler: Any = None
        self.last_tick: datetime | None = None
        self.next_boundary: datetime | None = None
        self.failures = 0  # reconciles failed in a row
        self.metrics = Metrics()
        self.stopping = threading.Event()
        self.watcher = ChangeWatch(store)
        self._last_replan = 0.0
        self._watch_failing = False
        self._lock = threading.Lock()  # the switching lock: reconcile and planning only
        self.webhooks = webhooks
        # E-mail notices (purdah.notify.settings.MailSettings), or None when e-mail is off:
        # planned every MAIL_PLAN_SECONDS into the outbox, sent by the same dispatcher.
        self.mail = mail
        self.outbox: Any = None  # the DispatchThread, while running

    def tick(
        self, reason: str = "tick", due: datetime | None = None, full: bool = False
    ) -> ReconcileResult | None:
        """Reconcile as of now (what changed since the last run, or with `full` every
        council) and re-plan. `due` is the boundary a boundary job was planned for (its
        lateness is measured). A failure is logged and retried with back-off; it returns
        None."""
        with self._lock:
            started = time.perf_counter()
            try:
                result = reconcile(
                    self.store, actor=f"scheduler ({reason})", skip_if_busy=True, full=full
                )
            except Exception as exc:
                self._retry_later(reason, due, exc, full)
                return None
            now = result.at
            seconds = time.perf_counter() - started
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
            if result.skipped:
                log.warning(
                    "reconcile (%s) skipped at %s: the write lock stayed busy; nothing switched",
                    reason,
                    now.isoformat(timespec="seconds"),
                )
            else:
                log.info(
                    "reconciled (%s) at %s: %d changes, %d missed boundaries caught up",
                    reason,
                    now.isoformat(timespec="seconds"),
                    len(result.changes),
                    result.replayed,
                )
            if result.full and not result.skipped:
                _log_sweep(reason, result)
            self._count(result, seconds, now, due)
            if result.changes and self.outbox is not None:
                self.outbox.wake()  # the switch's events go out now, on their own thread
            if self.failures:
                log.info("reconcile works again after %d failed attempts", self.failures)
                self.failures = 0
            self.last_tick = now
            try:
                self.plan(now)
            except Exception as exc:  # the reconcile stood; the next change check re-plans
                log.error("planning the next boundary failed: %s", exc)
            return result

    def _count(
        self, result: ReconcileResult, seconds: float, now: datetime, due: datetime | None
    ) -> None:
        m = self.metrics
        with m.lock:
            m.reconciles += 1
            m.reconcile_seconds += seconds
            m.last_reconcile_seconds = seconds
            m.changes += len(result.changes)
            if due is not None:
                lateness = max(0.0, (now - due).total_seconds())
                m.boundaries += 1
                m.boundary_lateness_seconds += lateness
                m.last_boundary_lateness_seconds = lateness

    def _retry_later(
        self, reason: str, due: datetime | None, exc: Exception, full: bool = False
    ) -> timedelta:
        """Log the failure and plan the retry; returns its delay."""
        self.failures += 1
        with self.metrics.lock:
            self.metrics.reconcile_failures += 1
        delay: timedelta = min(self.retry_first * 2 ** min(self.failures - 1, 20), self.retry_max)
        log.error(
            "reconcile (%s) failed (attempt %d): %s: %s; retrying in %d s",
            reason,
            self.failures,
            type(exc).__name__,
            _first_line(exc),
            delay.total_seconds(),
        )
        if self.scheduler is None:
            return delay
        base = reason.removeprefix("retry of ")
        self.scheduler.add_job(
            self.tick,
            "date",
            run_date=_wall() + delay,
            args=(f"retry of {base}", due, *((True,) if full else ())),  # a sweep stays one
            id=RETRY_JOB,
            replace_existing=True,
        )
        return delay

    def refresh_feeds(self) -> None:
        """Fetch the feeds that are due, on the feeds' own worker: never under the switching
        lock (each import takes the store briefly and reconciles in its own transaction);
        then re-plan. A failing feed is logged, recorded on the feed and backs off; the
        others are still refreshed."""
        from purdah.services.feeds import refresh_due

        try:
            results = refresh_due(self.store, timeout=self.fetch_timeout, cancel=self.stopping)
        except Exception as exc:  # the store is down: the next run (a minute on) retries
            log.warning("feeds not refreshed: %s: %s", type(exc).__name__, _first_line(exc))
            return
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
        with self.metrics.lock:
            self.metrics.feed_refreshes += len(results)
            self.metrics.feed_failures += sum(not r.ok for r in results)
        if any(r.ok and not r.not_modified for r in results):
            self.replan()

    def watch(self) -> None:
        """The change check: re-plan when any process has committed since the last look
        (and at least every REPLAN_SECONDS anyway)."""
        try:
            changed = self.watcher.changed()
        except Exception as exc:
            if not self._watch_failing:  # once, not every two seconds
                log.warning("change check failed (retrying): %s: %s", type(exc).__name__, exc)
            self._watch_failing = True
            return
        if self._watch_failing:
            log.info("change check works again")
            self._watch_failing = False
        if changed or time.monotonic() - self._last_replan >= REPLAN_SECONDS:
            self.replan()

    def replan(self) -> None:
        with self._lock:
            try:
                self.plan(self.clock())
            except Exception as exc:
                log.warning("planning the next boundary failed: %s: %s", type(exc).__name__, exc)

    def plan(self, now: datetime) -> datetime | None:
        with self.store.read() as conn:
            self.next_boundary = next_boundary(conn, now)
        self._last_replan = time.monotonic()
        if self.scheduler is not None and self.next_boundary is not None:
            job = self.scheduler.get_job(BOUNDARY_JOB)
            if job is not None and job.next_run_time == self.next_boundary:
                return self.next_boundary
            self.scheduler.add_job(
                self.tick,
                "date",
                run_date=self.next_boundary,
                args=("boundary", self.next_boundary),
                id=BOUNDARY_JOB,
                replace_existing=True,
            )
            log.info("next boundary at %s", self.next_boundary.astimezone(LONDON).isoformat())
        return self.next_boundary

    def heartbeat(self) -> None:
        """Record in the store that this scheduler is alive (one small upsert)."""
        import sqlalchemy as sa

        from purdah.models import meta_t

        try:
            with self.store.write() as (conn, _now):
                now = self.clock()  # this process's clock (read once the lock is held)
                value = json.dumps(
                    {
                        "at": now.astimezone(UTC).isoformat(),
                        "host": socket.gethostname(),
                        "pid": os.getpid(),
                        "interval_minutes": self.interval,
                        "every_seconds": self.heartbeat_seconds,
                        "last_tick": self.last_tick.astimezone(UTC).isoformat()
                        if self.last_tick
                        else None,
                        "next_boundary": self.next_boundary.astimezone(UTC).isoformat()
                        if self.next_boundary
                        else None,
                        "failing_reconciles": self.failures,
                    },
                    sort_keys=True,
                )
                key = meta_t.c.key == HEARTBEAT_KEY
                if not conn.execute(sa.update(meta_t).where(key).values(value=value)).rowcount:
                    conn.execute(sa.insert(meta_t).values(key=HEARTBEAT_KEY, value=value))
        except Exception as exc:
            log.warning("heartbeat not written: %s: %s", type(exc).__name__, exc)

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
            args=("midnight", None, True),
            id="purdah-midnight",
            replace_existing=True,
        )
        # Feeds on their own one-thread executor: a slow server holds only that thread.
        scheduler.add_job(
            self.refresh_feeds,
            "interval",
            minutes=1,
            next_run_time=_wall(),
            id="purdah-feeds",
            executor="feeds",
            replace_existing=True,
        )
        # Windows added by another process get their exact boundary job within seconds;
        # the check reads one number and writes nothing.
        scheduler.add_job(
            self.watch,
            "interval",
            seconds=self.watch_seconds,
            id="purdah-watch",
            replace_existing=True,
        )
        scheduler.add_job(
            self.heartbeat,
            "interval",
            seconds=self.heartbeat_seconds,
            next_run_time=_wall(),
            id="purdah-heartbeat",
            replace_existing=True,
        )
        return scheduler

    @staticmethod
    def new_scheduler() -> Any:
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        return BackgroundScheduler(
            timezone=LONDON,
            job_defaults=JOB_DEFAULTS,
            executors={"default": ThreadPoolExecutor(10), "feeds": ThreadPoolExecutor(1)},
        )

    def plan_mail(self) -> None:
        """Plan the e-mail notices due now into the outbox (one short write), and wake the
        dispatcher. A failure is logged; the next run plans what this one did not."""
        from purdah.notify.service import plan_all

        try:
            result = plan_all(self.store, self.mail)
        except Exception as exc:
            log.warning("e-mail notices not planned (retrying): %s: %s", type(exc).__name__, exc)
            return
        if result.recorded:
            log.info("e-mail notices queued: %d", result.recorded)
            if self.outbox is not None:
                self.outbox.wake()
        if result.deferred:
            log.warning("e-mail notices: %d left for the next run", result.deferred)

    def run_forever(self, extra_jobs: Callable[[Any], None] | None = None) -> None:
        """Run until SIGINT or SIGTERM. The jobs run on a background scheduler; the main
        thread only waits for a stop signal, so a signal at any moment (even before the
        scheduler has started, or while a feed is being fetched) stops within seconds."""
        stop = self.stopping

        def on_signal(signum: int, _frame: Any) -> None:
            log.info("received %s: stopping", signal.Signals(signum).name)
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        scheduler = self.build(self.new_scheduler())
        if extra_jobs:
            extra_jobs(scheduler)
        scheduler.start()
        channel = None
        channels: list[Any] = []
        if self.webhooks:
            from purdah.outbox.webhooks import WebhookChannel

            channel = WebhookChannel(self.store)
            channels.append(channel)
        if self.mail is not None:
            from purdah.notify.channel import EmailChannel

            channels.append(EmailChannel(self.mail))
            scheduler.add_job(
                self.plan_mail,
                "interval",
                seconds=MAIL_PLAN_SECONDS,
                id=MAIL_JOB,
                next_run_time=_wall(),
            )
        if channels:
            from purdah.outbox.dispatch import DispatchThread

            self.outbox = DispatchThread(self.store, channels, stop=stop)
            self.outbox.start()
        try:
            if not stop.is_set():
                self.tick("start-up", full=True)
            stop.wait()
        finally:
            scheduler.shutdown(wait=True)
            if self.outbox is not None:
                self.outbox.join(timeout=15)
                self.outbox = None
            if channel is not None:
                channel.close()
            self.watcher.close()
            log.info("stopped")
