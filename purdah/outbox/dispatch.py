"""The dispatcher: claim lanes, send their deliveries through a channel, retry, dead-letter.

A lane is one ordered queue (a webhook endpoint, one e-mail recipient). Its pending
deliveries go out one at a time in event order; the first that fails stops the lane
until its retry is due, so a receiver never sees event n+1 before event n.

Every store write here is its own short `Store.write()`: the claim (a lease on a few
lanes), and the result of each attempt. Nothing is sent while a transaction is open, so
a slow receiver never holds the write lock, and switching never waits for one.

Several dispatchers (nodes, or `purdah webhook dispatch` beside `purdah run`) share the
work by leases: a claim takes lanes whose lease is free or expired (on PostgreSQL with
`FOR UPDATE SKIP LOCKED`, so concurrent claimers skip each other's rows), and marks them
with its node name until `lease_until`. A node killed mid-send leaves its lease to
expire; the delivery is then sent again (at-least-once: receivers de-duplicate by the
event id, the `webhook-id` header).

Retries follow the Standard Webhooks schedule (SETTLED): at once, then 5 s, 5 min,
30 min, 2 h, 5 h and 10 h later, each with up to 10% jitter. After the last failed
attempt the delivery is dead, and its lane is paused (the endpoint has been failing
for about 17 hours): later events wait, said in `webhook list`, until the endpoint is
resumed (`webhook resume`, or `webhook redeliver` of the dead delivery).
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

import sqlalchemy as sa

from purdah.models import (
    outbox_attempt_t,
    outbox_delivery_t,
    outbox_event_t,
    outbox_lane_t,
)
from purdah.outbox.events import DEAD, DELIVERED, PENDING, instance_id
from purdah.outbox.payload import EventRow
from purdah.queries import among
from purdah.store import Store

log = logging.getLogger("purdah.outbox")

D = outbox_delivery_t.c
L = outbox_lane_t.c
EV = outbox_event_t.c

# Seconds before attempt n+1 after attempt n failed (attempt 1 is at once).
SCHEDULE = (0, 5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600)
ATTEMPTS = len(SCHEDULE)  # the last attempt's failure is final: the delivery is dead
JITTER = 0.10
LEASE_SECONDS = 30.0  # a claim's lease (3 attempt deadlines); renewed by every recorded attempt
BATCH = 100  # deliveries read per lane at a time
LANES_PER_CLAIM = 8
FLUSH_EVERY = 50  # successes recorded per write, at most ...
FLUSH_SECONDS = 0.2  # ... or after this long


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to. `final` marks a failure no retry can mend (the delivery
    is dead at once)."""

    delivered: bool
    status: int | None = None
    error: str | None = None
    final: bool = False


@dataclass(frozen=True)
class Item:
    """One delivery handed to a channel: the event, its idempotency key, which attempt."""

    delivery_id: int
    event: EventRow
    key: str  # the event id receivers de-duplicate by
    attempt: int  # 1-based
    instance: str


class Channel(Protocol):
    """A way out (webhook, e-mail). `send` makes one attempt and must return within its
    own total deadline; it must not raise for the receiver's failures (return an
    Outcome), and never touches the store."""

    name: str

    def send(self, target: str, item: Item) -> Outcome: ...


_INSERT_ATTEMPT = sa.insert(outbox_attempt_t)
_MARK_DELIVERED = (
    sa.update(outbox_delivery_t)
    .where(D.id == sa.bindparam("did"), D.state == PENDING)
    .values(
        state=DELIVERED,
        attempts=D.attempts + 1,
        last_attempt_at=sa.bindparam("now"),
        last_status=sa.bindparam("status"),
        last_error=None,
        delivered_at=sa.bindparam("now"),
    )
)


def retry_delay(attempts: int, rng: random.Random) -> timedelta | None:
    """The wait after `attempts` failed attempts; None when that was the last."""
    if attempts >= ATTEMPTS:
        return None
    base = SCHEDULE[attempts]
    return timedelta(seconds=base * (1 + rng.uniform(-JITTER, JITTER)))


@dataclass
class DispatchReport:
    delivered: int = 0
    failed: int = 0  # attempts that failed and will be retried
    dead: int = 0
    lanes: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: DispatchReport) -> None:
        self.delivered += other.delivered
        self.failed += other.failed
        self.dead += other.dead
        self.lanes += other.lanes
        self.errors.extend(other.errors)


@dataclass(frozen=True)
class _Lane:
    id: int
    channel: str
    target: str


def default_node() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 10000}"


class Dispatcher:
    def __init__(
        self,
        store: Store,
        channels: Sequence[Channel],
        *,
        node: str | None = None,
        lease_seconds: float = LEASE_SECONDS,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.channels: Mapping[str, Channel] = {c.name: c for c in channels}
        self.node = node or default_node()
        self.lease = timedelta(seconds=lease_seconds)
        self.rng = rng or random.Random()
        self._instance: str | None = None

    # -- claims -------------------------------------------------------------------------

    def claim(self, limit: int = LANES_PER_CLAIM) -> list[_Lane]:
        """Lease up to `limit` lanes of these channels that have a pending delivery due."""
        if not self.channels:
            return []
        with self.store.write() as (conn, now):
            if self._instance is None:
                self._instance = instance_id(conn)
            pending = sa.exists().where(D.lane_id == L.id, D.state == PENDING)
            query = (
                sa.select(L.id, L.channel, L.target)
                .where(
                    L.channel.in_(list(self.channels)),
                    L.paused_at.is_(None),
                    sa.or_(L.lease_until.is_(None), L.lease_until < now),
                    sa.or_(L.next_at.is_(None), L.next_at <= now),
                    pending,
                )
                .order_by(L.next_at.is_not(None), L.id)
                .limit(limit)
            )
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True, of=outbox_lane_t)
            lanes = [_Lane(*row) for row in conn.execute(query)]
            if lanes:
                conn.execute(
                    sa.update(outbox_lane_t)
                    .where(among(L.id, [lane.id for lane in lanes]))
                    .values(lease_owner=self.node, lease_until=now + self.lease)
                )
        return lanes

    def release(self, lane_id: int) -> None:
        with self.store.write() as (conn, _now):
            conn.execute(
                sa.update(outbox_lane_t)
                .where(L.id == lane_id, L.lease_owner == self.node)
                .values(lease_owner=None, lease_until=None)
            )

    # -- sending ------------------------------------------------------------------------

    def run_once(self, *, stop: threading.Event | None = None) -> DispatchReport:
        """Claim due lanes and send each one's due deliveries in order (lanes one after
        another on this thread). Returns what was done."""
        report = DispatchReport()
        for lane in self.claim():
            report.lanes += 1
            try:
                report.add(self._send_lane(lane, stop))
            except Exception as exc:  # the store failed mid-lane: the lease expires
                report.errors.append(f"lane {lane.id}: {type(exc).__name__}: {exc}")
                log.warning("outbox lane %d: %s: %s", lane.id, type(exc).__name__, exc)
                continue
            try:
                self.release(lane.id)
            except Exception as exc:
                report.errors.append(f"lane {lane.id} not released: {exc}")
        return report

    def run_until_idle(
        self, *, deadline: float | None = None, stop: threading.Event | None = None
    ) -> DispatchReport:
        """`run_once` until nothing is due (or `deadline`, a time.monotonic() instant)."""
        total = DispatchReport()
        while not (stop is not None and stop.is_set()):
            report = self.run_once(stop=stop)
            total.add(report)
            if report.lanes == 0:
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
        return total

    def _send_lane(self, lane: _Lane, stop: threading.Event | None) -> DispatchReport:
        """Send the lane's deliveries in order. Successes are recorded in batches (one
        short write per FLUSH_EVERY deliveries or FLUSH_SECONDS, whichever comes first):
        a process killed before a batch is written sends those again (at-least-once),
        and the write lock is taken a few times a second, not once per delivery."""
        report = DispatchReport()
        channel = self.channels[lane.channel]
        assert self._instance is not None
        done: list[tuple[Item, Outcome, float]] = []
        flushed = time.monotonic()

        def flush() -> None:
            nonlocal flushed
            if done:
                self._record_delivered(lane.id, done)
                report.delivered += len(done)
                done.clear()
            flushed = time.monotonic()

        try:
            while not (stop is not None and stop.is_set()):
                items = self._head(lane.id, skip={item.delivery_id for item, _o, _s in done})
                if not items:
                    return report
                for item in items:
                    if stop is not None and stop.is_set():
                        return report
                    started = time.perf_counter()
                    try:
                        outcome = channel.send(lane.target, item)
                    except Exception as exc:  # a channel's bug must not stop the dispatcher
                        outcome = Outcome(False, error=f"{type(exc).__name__}: {exc}")
                    seconds = time.perf_counter() - started
                    if outcome.delivered:
                        done.append((item, outcome, seconds))
                        if len(done) >= FLUSH_EVERY or time.monotonic() - flushed > FLUSH_SECONDS:
                            flush()
                        continue
                    flush()
                    state = self._record(lane.id, item, outcome, seconds)
                    if state == DEAD:
                        report.dead += 1
                    else:
                        report.failed += 1
                    return report  # the lane waits for its retry (or stays paused)
            return report
        finally:
            flush()

    def _record_delivered(self, lane_id: int, done: list[tuple[Item, Outcome, float]]) -> None:
        """One short write for a batch of successful attempts."""
        with self.store.write() as (conn, now):
            conn.execute(
                _INSERT_ATTEMPT,
                [
                    {
                        "delivery_id": item.delivery_id,
                        "at": now,
                        "seconds": round(seconds, 6),
                        "status": outcome.status,
                        "error": None,
                        "node": self.node,
                    }
                    for item, outcome, seconds in done
                ],
            )
            conn.execute(
                _MARK_DELIVERED,
                [
                    {"did": item.delivery_id, "now": now, "status": outcome.status}
                    for item, outcome, _seconds in done
                ],
            )
            conn.execute(
                sa.update(outbox_lane_t)
                .where(L.id == lane_id, L.lease_owner == self.node)
                .values(lease_until=now + self.lease, next_at=None)
            )

    def _head(self, lane_id: int, skip: set[int] | None = None) -> list[Item]:
        """The lane's pending deliveries in event order, from the head (leaving out
        those sent whose success is not written yet)."""
        query = (
            sa.select(D.id, D.attempts, *[EV[name] for name in EventRow.__dataclass_fields__])
            .join_from(outbox_delivery_t, outbox_event_t, EV.id == D.event_id)
            .where(D.lane_id == lane_id, D.state == PENDING)
            .order_by(D.event_id)
            .limit(BATCH + len(skip or ()))
        )
        with self.store.read() as conn:
            rows = [row for row in conn.execute(query) if row[0] not in (skip or ())]
        from purdah.outbox.events import event_key

        assert self._instance is not None
        return [
            Item(
                row[0],
                EventRow(*row[2:]),
                event_key(self._instance, row[2]),
                row[1] + 1,
                self._instance,
            )
            for row in rows
        ]

    def _record(self, lane_id: int, item: Item, outcome: Outcome, seconds: float) -> str:
        """One short write: the attempt, the delivery's new state, the lane's back-off."""
        with self.store.write() as (conn, now):
            conn.execute(
                sa.insert(outbox_attempt_t).values(
                    delivery_id=item.delivery_id,
                    at=now,
                    seconds=round(seconds, 6),
                    status=outcome.status,
                    error=outcome.error,
                    node=self.node,
                )
            )
            common = {
                "attempts": D.attempts + 1,
                "last_attempt_at": now,
                "last_status": outcome.status,
                "last_error": outcome.error,
            }
            lane_values: dict[str, object] = {"lease_until": now + self.lease}
            if outcome.delivered:
                state = DELIVERED
                values = {**common, "state": DELIVERED, "delivered_at": now}
                lane_values["next_at"] = None
            else:
                delay = None if outcome.final else retry_delay(item.attempt, self.rng)
                if delay is None:
                    state = DEAD
                    values = {**common, "state": DEAD}
                    lane_values.update(
                        next_at=None,
                        paused_at=now,
                        paused_reason=(
                            f"delivery {item.delivery_id} (event {item.key}) dead after "
                            f"{item.attempt} attempts: {outcome.error or outcome.status}"
                        ),
                    )
                    log.error(
                        "outbox: delivery %d (%s) is dead after %d attempts (%s); lane %d paused",
                        item.delivery_id,
                        item.key,
                        item.attempt,
                        outcome.error or outcome.status,
                        lane_id,
                    )
                else:
                    state = PENDING
                    values = {**common, "next_at": now + delay}
                    lane_values["next_at"] = now + delay
                    log.warning(
                        "outbox: delivery %d (%s) attempt %d failed (%s); retry in %.0f s",
                        item.delivery_id,
                        item.key,
                        item.attempt,
                        outcome.error or outcome.status,
                        delay.total_seconds(),
                    )
            conn.execute(
                sa.update(outbox_delivery_t)
                .where(D.id == item.delivery_id, D.state == PENDING)
                .values(values)
            )
            conn.execute(
                sa.update(outbox_lane_t)
                .where(L.id == lane_id, L.lease_owner == self.node)
                .values(lane_values)
            )
        return state


def next_due(store: Store) -> datetime | None:
    """The earliest instant some lane may be claimed (now or earlier if one is due), or
    None when nothing is pending. One read; a dispatcher sleeps until then."""
    from purdah.store import as_instant

    pending = sa.exists().where(D.lane_id == L.id, D.state == PENDING)
    with store.read() as conn:
        rows = conn.execute(
            sa.select(L.next_at, L.lease_until).where(L.paused_at.is_(None), pending)
        ).all()
    due: datetime | None = None
    for next_at, lease_until in rows:
        known = [as_instant(v) for v in (next_at, lease_until) if v is not None]
        if not known:
            return datetime.min.replace(tzinfo=UTC)  # due now
        when = max(known)
        due = when if due is None else min(due, when)
    return due


class DispatchThread:
    """A dispatcher on its own thread (inside `purdah run`): sends what is due, then
    sleeps until the next retry or lease expiry is due, at most `poll` seconds, or until
    woken (`wake()`: a reconcile switched something). Never on the switching path: it
    takes the store's write lock only for its own short claims and records."""

    def __init__(
        self,
        store: Store,
        channels: Sequence[Channel],
        *,
        poll: float = 1.0,
        stop: threading.Event | None = None,
    ) -> None:
        self.store = store
        self.dispatcher = Dispatcher(store, channels)
        self.poll = poll
        self.stop = stop or threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="purdah-outbox", daemon=True)
        self._failing = False
        self.report = DispatchReport()

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def join(self, timeout: float | None = None) -> None:
        self.stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while not self.stop.is_set():
            wait = self.poll
            try:
                due = next_due(self.store)
                now = self.store.clock()
                if due is not None and due <= now:
                    report = self.dispatcher.run_until_idle(
                        deadline=time.monotonic() + 30, stop=self.stop
                    )
                    self.report.add(report)
                    due = next_due(self.store)
                if due is not None:
                    wait = min(self.poll, max(0.0, (due - self.store.clock()).total_seconds()))
                if self._failing:
                    log.info("outbox dispatcher works again")
                    self._failing = False
            except Exception as exc:  # the store is down: retry, said once
                if not self._failing:
                    log.warning(
                        "outbox dispatcher failed (retrying): %s: %s", type(exc).__name__, exc
                    )
                self._failing = True
                wait = max(self.poll, 5.0)
            self._wake.wait(wait)
            self._wake.clear()
