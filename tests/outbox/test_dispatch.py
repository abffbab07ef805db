"""The dispatcher with a channel of the test's own: order, retries, dead letters, leases."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import sqlalchemy as sa

from purdah.clock import LONDON
from purdah.models import outbox_attempt_t, outbox_delivery_t, outbox_lane_t
from purdah.outbox import events as outbox
from purdah.outbox.dispatch import ATTEMPTS, SCHEDULE, Dispatcher, Item, Outcome, retry_delay
from tests.services.helpers import nottinghamshire, set_clock

T0 = datetime(2026, 4, 1, 9, tzinfo=LONDON)


class Recorder:
    name = "test"

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.sent: list[tuple[str, str, int]] = []

    def send(self, target: str, item: Item) -> Outcome:
        self.sent.append((target, item.key, item.attempt))
        if self.failures > 0:
            self.failures -= 1
            return Outcome(False, 500, "HTTP 500")
        return Outcome(True, 200)


def three_events(store, lane_target="a"):
    nottinghamshire(store)
    set_clock(store, T0)
    with store.write() as (conn, now):
        lane = outbox.lane_for(conn, now, "test", lane_target)
        ids = outbox.record_events(
            conn,
            now,
            [outbox.NewEvent("period.added", None, now, f"event {n}", {"n": n}) for n in range(3)],
        )
        for event_id in ids:
            outbox.add_delivery(conn, now, event_id, lane)
    return lane, ids


def states(store):
    with store.read() as conn:
        return conn.execute(
            sa.select(
                outbox_delivery_t.c.event_id,
                outbox_delivery_t.c.state,
                outbox_delivery_t.c.attempts,
            ).order_by(outbox_delivery_t.c.event_id)
        ).all()


def test_deliveries_go_in_event_order_and_once(store):
    _lane, ids = three_events(store)
    channel = Recorder()
    report = Dispatcher(store, [channel]).run_until_idle()
    assert report.delivered == 3
    assert [key.rsplit("_", 1)[1] for _t, key, _a in channel.sent] == [str(i) for i in ids]
    assert [s for _e, s, _a in states(store)] == ["delivered"] * 3
    assert Dispatcher(store, [channel]).run_until_idle().delivered == 0
    assert len(channel.sent) == 3


def test_a_failure_stops_the_lane_until_its_retry_is_due(store):
    three_events(store)
    channel = Recorder(failures=2)
    dispatcher = Dispatcher(store, [channel], rng=random.Random(1))
    dispatcher.run_until_idle()
    assert channel.sent == [("a", channel.sent[0][1], 1)]  # the head failed: nothing after it
    assert states(store)[0][1:] == ("pending", 1)
    set_clock(store, T0 + timedelta(seconds=3))  # the 5 s retry (with jitter) is not due
    dispatcher.run_until_idle()
    assert len(channel.sent) == 1
    set_clock(store, T0 + timedelta(seconds=6))
    dispatcher.run_until_idle()
    assert [a for _t, _k, a in channel.sent] == [1, 2]
    set_clock(store, T0 + timedelta(minutes=6))
    dispatcher.run_until_idle()
    assert [a for _t, _k, a in channel.sent] == [1, 2, 3, 1, 1]
    assert [s for _e, s, _a in states(store)] == ["delivered"] * 3
    with store.read() as conn:
        attempts = conn.execute(sa.select(sa.func.count()).select_from(outbox_attempt_t)).scalar()
    assert attempts == 5


def test_the_last_failure_is_a_dead_letter_and_pauses_the_lane(store):
    lane, _ids = three_events(store)
    channel = Recorder(failures=ATTEMPTS)
    dispatcher = Dispatcher(store, [channel], rng=random.Random(2))
    when = T0
    for _ in range(ATTEMPTS):
        set_clock(store, when)
        dispatcher.run_until_idle()
        when += timedelta(hours=11)
    assert [a for _t, _k, a in channel.sent] == list(range(1, ATTEMPTS + 1))
    assert [s for _e, s, _a in states(store)] == ["dead", "pending", "pending"]
    with store.read() as conn:
        paused = conn.execute(
            sa.select(outbox_lane_t.c.paused_reason).where(outbox_lane_t.c.id == lane)
        ).scalar()
    assert paused.startswith("delivery ") and "dead after 7 attempts" in paused


def test_the_schedule_is_standard_webhooks_with_bounded_jitter():
    assert SCHEDULE == (0, 5, 300, 1800, 7200, 18000, 36000)
    rng = random.Random(3)
    for attempts, base in enumerate(SCHEDULE[1:], start=1):
        delay = retry_delay(attempts, rng)
        assert delay is not None
        assert base * 0.9 <= delay.total_seconds() <= base * 1.1
    assert retry_delay(ATTEMPTS, rng) is None


def test_a_leased_lane_is_not_claimed_by_another_node(store):
    three_events(store)
    first = Dispatcher(store, [Recorder()], node="one")
    second = Dispatcher(store, [Recorder()], node="two")
    assert len(first.claim()) == 1
    assert second.claim() == []
    set_clock(store, T0 + timedelta(seconds=61))  # the lease ran out: the node died
    assert len(second.claim()) == 1
