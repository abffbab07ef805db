"""Is the switch working? Every fault by name, for `purdah doctor` and /healthz.

A fault is something that makes the stored flags untrustworthy now or soon:
- `store_unreachable`: the store cannot be read;
- `reconcile_missing`, `reconcile_in_future`, `reconcile_stale`: no reconcile ever, the last
  one dated ahead of the clock (a run "as of" a future instant), or older than two of the
  scheduler's intervals;
- `boundary_missed`: a window or exemption boundary passed (more than a minute ago) with
  no reconcile since;
- `heartbeat_missing`, `heartbeat_stale`, `reconcile_failing`: no `purdah run` is alive,
  or its reconciles are failing (it retries them);
- `feed_failing`, `feed_stale`: a feed's last refresh failed, or it has had no good
  refresh for two of its intervals;
- `flags_differ`: councillors whose stored flags differ from the decision now;
- `webhook_paused`: a webhook endpoint paused after a dead letter (its events wait);
- `mail_paused`: an e-mail address whose notices are paused after a dead one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from purdah.store import Store, as_instant

# The meta row `purdah run` keeps fresh (purdah.scheduler writes it).
HEARTBEAT_KEY = "scheduler_heartbeat"
DEFAULT_INTERVAL = timedelta(minutes=15)  # `purdah run`'s default, when no heartbeat says
CLOCK_SKEW = timedelta(seconds=60)  # an instant this far ahead of the clock is "future"
BOUNDARY_GRACE = timedelta(seconds=60)  # the boundary job runs at the instant; allow this
HEARTBEAT_STALE_MIN = timedelta(seconds=90)
EXAMPLES = 5

MAX_CANDIDATES = 200  # more councillors whose flags may be wrong: decide everyone at once
_COUNT_SQL = "SELECT count(*) FROM councillor"
_IN_FORCE = 'SELECT council_id FROM "window" WHERE start <= :t AND "end" > :t'
_CANDIDATES_SQL = f"""
SELECT c.slug, p.slug FROM councillor p JOIN council c ON c.id = p.council_id
WHERE (p.council_id IN ({_IN_FORCE} AND ward IS NULL) AND (p.may_promote OR p.may_post))
   OR (p.council_id NOT IN ({_IN_FORCE} AND ward IS NULL)
       AND (NOT p.may_promote OR p.may_post != p.agreed_may_post))
   OR p.council_id IN ({_IN_FORCE} AND ward IS NOT NULL)
   OR p.id IN (SELECT councillor_id FROM exemption WHERE start <= :t AND "end" > :t)
ORDER BY c.slug, p.slug
"""
_HEARTBEAT_SQL = "SELECT value FROM meta WHERE key = :key"
_LAST_BOUNDARY_SQL = """
SELECT max(t) FROM (
    SELECT max(start) AS t FROM "window" WHERE start <= :cutoff
    UNION ALL SELECT max("end") FROM "window" WHERE "end" <= :cutoff
    UNION ALL SELECT max(start) FROM exemption WHERE start <= :cutoff
    UNION ALL SELECT max("end") FROM exemption WHERE "end" <= :cutoff
) AS boundaries
"""


@dataclass(frozen=True)
class Fault:
    name: str
    message: str


@dataclass(frozen=True)
class Heartbeat:
    at: datetime
    host: str
    pid: int
    interval: timedelta
    every: timedelta
    last_tick: datetime | None
    next_boundary: datetime | None
    failing_reconciles: int


@dataclass(frozen=True)
class FeedHealth:
    name: str
    last_ok_at: datetime | None
    failures: int
    last_error: str | None
    fresh: bool
    next_due_at: datetime | None


@dataclass(frozen=True)
class Diagnosis:
    at: datetime
    store: str  # "reachable", or "unreachable: why"
    last_reconcile_at: datetime | None = None
    last_boundary_at: datetime | None = None
    next_boundary_at: datetime | None = None
    heartbeat: Heartbeat | None = None
    feeds: list[FeedHealth] = field(default_factory=list)
    councillors: int = 0
    flags_differ: list[str] = field(default_factory=list)  # COUNCIL/SLUG
    faults: list[Fault] = field(default_factory=list)
    # Not faults of the switch, but said: run-ups begun with no notice date recorded.
    warnings: list[Fault] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.faults


def read_heartbeat(store: Store) -> Heartbeat | None:
    rows = store.query(_HEARTBEAT_SQL, {"key": HEARTBEAT_KEY})
    if not rows:
        return None
    data: dict[str, Any] = json.loads(rows[0][0])

    def instant(key: str) -> datetime | None:
        value = data.get(key)
        return datetime.fromisoformat(value) if value else None

    at = instant("at")
    assert at is not None
    return Heartbeat(
        at,
        str(data.get("host", "?")),
        int(data.get("pid", 0)),
        timedelta(minutes=float(data.get("interval_minutes", 15))),
        timedelta(seconds=float(data.get("every_seconds", 30))),
        instant("last_tick"),
        instant("next_boundary"),
        int(data.get("failing_reconciles", 0)),
    )


def diagnose(store: Store, now: datetime) -> Diagnosis:
    """Read the store once over and name every fault as of `now` (the real clock)."""
    try:
        return _diagnose(store, now)
    except Exception as exc:  # the point of a health check: report, never raise
        reason = f"{type(exc).__name__}: {str(getattr(exc, 'orig', None) or exc).strip()}"
        return Diagnosis(
            now,
            f"unreachable: {reason}",
            faults=[Fault("store_unreachable", f"the store cannot be read: {reason}")],
        )


def _diagnose(store: Store, now: datetime) -> Diagnosis:
    from purdah.services.check import last_reconcile
    from purdah.services.feeds import list_feeds
    from purdah.services.windows import next_boundary

    faults: list[Fault] = []
    last = last_reconcile(store)
    beat = read_heartbeat(store)
    interval = beat.interval if beat else DEFAULT_INTERVAL
    rows = store.query(_LAST_BOUNDARY_SQL, {"cutoff": now - BOUNDARY_GRACE})
    passed = as_instant(rows[0][0]) if rows and rows[0][0] is not None else None
    with store.read() as conn:
        upcoming = next_boundary(conn, now)

    if last is None:
        faults.append(Fault("reconcile_missing", "no reconcile has ever run: run 'purdah run'"))
    elif last > now + CLOCK_SKEW:
        faults.append(
            Fault(
                "reconcile_in_future",
                f"the last reconcile is dated {last.isoformat()}, ahead of the clock "
                f"({now.isoformat(timespec='seconds')}): the stored flags were switched for a "
                "future instant; run 'purdah reconcile' now",
            )
        )
    elif now - last > 2 * interval:
        faults.append(
            Fault(
                "reconcile_stale",
                f"the last reconcile was at {last.isoformat(timespec='seconds')}, more than "
                f"two intervals ({2 * interval}) ago: is 'purdah run' running?",
            )
        )
    if last is not None and passed is not None and last < passed:
        faults.append(
            Fault(
                "boundary_missed",
                f"a window or exemption boundary passed at {passed.isoformat()} and no "
                "reconcile has run since: run 'purdah reconcile'",
            )
        )

    if beat is None:
        faults.append(
            Fault(
                "heartbeat_missing",
                "no scheduler heartbeat in the store: 'purdah run' has never run on it",
            )
        )
    else:
        limit = max(3 * beat.every, HEARTBEAT_STALE_MIN)
        if now - beat.at > limit or beat.at - now > CLOCK_SKEW:
            faults.append(
                Fault(
                    "heartbeat_stale",
                    f"the scheduler's last heartbeat ({beat.host} pid {beat.pid}) is from "
                    f"{beat.at.isoformat(timespec='seconds')}: 'purdah run' is stopped or stuck",
                )
            )
        if beat.failing_reconciles:
            faults.append(
                Fault(
                    "reconcile_failing",
                    f"the scheduler's last {beat.failing_reconciles} reconciles failed "
                    "(it retries with back-off): see its log",
                )
            )

    feeds = []
    for feed in list_feeds(store):
        fresh = feed.last_ok_at is not None and now - feed.last_ok_at <= 2 * feed.every
        feeds.append(
            FeedHealth(
                feed.name, feed.last_ok_at, feed.failures, feed.last_error, fresh, feed.next_due_at
            )
        )
        if feed.failures:
            faults.append(
                Fault(
                    "feed_failing",
                    f"feed {feed.name}: the last {feed.failures} refreshes failed "
                    f"({feed.last_error}); its last good data is kept",
                )
            )
        if not fresh:
            since = feed.last_ok_at.isoformat(timespec="seconds") if feed.last_ok_at else "never"
            faults.append(
                Fault(
                    "feed_stale",
                    f"feed {feed.name}: no good refresh for two intervals ({2 * feed.every}); "
                    f"last good: {since}",
                )
            )

    from purdah.services.webhooks import paused_faults

    faults.extend(Fault(name, text) for name, text in paused_faults(store))
    from purdah.notify.service import lanes_paused

    faults.extend(
        Fault(
            "mail_paused",
            f"e-mail notices to {address} are paused: {reason}; fix the address or the "
            f"server, then 'purdah mail resume {address}'",
        )
        for address, reason in lanes_paused(store)
    )
    councillors, differ = flags_differing(store, now)
    if differ:
        shown = ", ".join(differ[:EXAMPLES]) + (" ..." if len(differ) > EXAMPLES else "")
        faults.append(
            Fault(
                "flags_differ",
                f"{len(differ)} councillors' stored flags differ from the decision now "
                f"({shown}): run 'purdah reconcile'",
            )
        )
    warnings = [
        Fault(
            "notice_not_recorded",
            f"the run-up of {due.election_id} began on {due.run_up_start.isoformat()} and no "
            f"{'announcement' if due.general_election else 'notice date'} is recorded (last "
            f"day {due.last_day.isoformat()}, {due.councils} "
            f"council{'s' * (due.councils != 1)}): {due.command}",
        )
        for due in run_ups_begun(store, now)
    ]
    return Diagnosis(
        now,
        "reachable",
        last,
        passed,
        upcoming,
        beat,
        feeds,
        councillors,
        differ,
        faults,
        warnings,
    )


def run_ups_begun(store: Store, now: datetime) -> list[Any]:
    from purdah.services.notices import run_ups_begun as begun

    return list(begun(store, now))


def flags_differing(store: Store, now: datetime) -> tuple[int, list[str]]:
    """(how many councillors, those whose stored flags differ from the decision now).

    Cheap where the flags are right: one query finds the councillors whose flags could be
    wrong (those in a council-wide window with a flag still on, outside one with a flag
    not at its normal value, in a ward-scoped window, or holding an exemption in force);
    only they are decided, one `check` each. Many candidates: everyone is decided."""
    from purdah.decide import Action
    from purdah.services.check import check
    from purdah.services.status import status

    total = int(store.query(_COUNT_SQL, {})[0][0])
    candidates = store.query(_CANDIDATES_SQL, {"t": now})
    if len(candidates) > MAX_CANDIDATES:
        return total, [row.councillor for row in status(store, now) if row.mismatch]
    differ = []
    for council, slug in candidates:
        ref = f"{council}/{slug}"
        if any(check(store, ref, action, now).mismatch for action in (Action.PROMOTE, Action.POST)):
            differ.append(ref)
    return total, differ
