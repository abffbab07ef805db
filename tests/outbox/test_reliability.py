"""A receiver on 127.0.0.1 that fails, resets, times out, answers slowly and 500s for a
while: every event reaches its handler exactly once (after de-duplication by webhook-id),
in order, and switching never waits for it (both stores)."""

from __future__ import annotations

import base64
import random
import threading
import time
from datetime import datetime, timedelta

import jsonschema
import sqlalchemy as sa

from purdah.clock import LONDON
from purdah.decide import Action
from purdah.models import outbox_delivery_t, outbox_event_t
from purdah.outbox.dispatch import Dispatcher, DispatchThread, next_due
from purdah.outbox.payload import schema
from purdah.outbox.webhooks import WebhookChannel
from purdah.services.elections import add_election, cancel_election
from purdah.services.history import exempt
from purdah.services.reconcile import reconcile
from purdah.services.register import add_councillor
from purdah.services.webhooks import add_webhook
from purdah.store import Store
from tests.outbox.loopback import Loopback
from tests.services.helpers import SETUP, nottinghamshire, set_clock, use_clock

SECRET = "whsec_" + base64.b64encode(b"reliability secret, 32 bytes ok").decode()
ENV = {"HOOK_SECRET": SECRET}
APRIL = datetime(2026, 4, 1, 9, tzinfo=LONDON)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def register(store, extra: int = 12) -> None:
    nottinghamshire(store)
    set_clock(store, SETUP)
    for n in range(extra):
        add_councillor(store, f"selston/member-{n:02d}", name=f"Member {n}")


def drain(store: Store, dispatcher: Dispatcher, clock: Clock, rounds: int = 200) -> None:
    """Dispatch, then move the store's clock to the next retry, until nothing is pending."""
    for _ in range(rounds):
        dispatcher.run_until_idle()
        due = next_due(store)
        if due is None:
            return
        if due > clock.at:
            clock.at = due + timedelta(seconds=1)
    raise AssertionError("deliveries still pending after the bounded rounds")


def expected_events(store) -> list[int]:
    with store.read() as conn:
        return list(
            conn.execute(
                sa.select(outbox_event_t.c.id)
                .join(outbox_delivery_t, outbox_delivery_t.c.event_id == outbox_event_t.c.id)
                .order_by(outbox_event_t.c.id)
            ).scalars()
        )


def test_a_misbehaving_receiver_gets_every_event_once_and_in_order(store):
    register(store)
    plan = ["500", "reset", "slow:1.2", "500", "ok", "ok", "hang", "500", "ok", "reset"]
    plan += random.Random(11).choices(["ok", "ok", "ok", "500", "reset", "slow:1.2"], k=60)
    with Loopback(SECRET, plan=plan) as receiver:
        add_webhook(set_clock(store, SETUP), receiver.url, secret_env="HOOK_SECRET", environ=ENV)
        clock = Clock(SETUP)
        use_clock(store, clock)
        channel = WebhookChannel(store, timeout=0.6, environ=ENV)
        dispatcher = Dispatcher(store, [channel], rng=random.Random(5))
        try:
            add_election(store, "local.ashfield.2026-05-07", nation="ENG")
            drain(store, dispatcher, clock)  # the receiver fails while changes keep coming
            clock.at = max(clock.at, APRIL)
            reconcile(store)
            for n in range(0, 12, 3):
                exempt(
                    store,
                    f"selston/member-{n:02d}",
                    action=Action.PROMOTE,
                    start=clock.at,
                    end=clock.at + timedelta(hours=1),
                    reason="civic duty",
                    granted_by="clerk",
                )
                dispatcher.run_until_idle()
            clock.at += timedelta(hours=2)
            reconcile(store)
            dispatcher.run_until_idle()
            clock.at += timedelta(days=3)
            cancel_election(store, "local.ashfield.2026-05-07")
            drain(store, dispatcher, clock)
        finally:
            channel.close()
        time.sleep(1.5)  # a slow answer the sender gave up on still completes its handling
        validator = jsonschema.Draft202012Validator(schema())
        for event in receiver.handled:  # every kind this run made, against the schema
            validator.validate(event)
        assert {e["type"] for e in receiver.handled} == {
            "period.added",
            "period.moved",  # cancelled after it began: the period ends at the cancellation
            "flag.changed",
            "exemption.added",
        }
        sent = [e["sequence"] for e in receiver.handled]
        assert sent == expected_events(store)  # every event, once each, in event order
        assert len(set(sent)) == len(sent)
        assert receiver.requests > len(sent)  # there were failures and retries
        per_councillor: dict[str, list[int]] = {}
        for event in receiver.handled:
            who = event["data"]["councillor"]
            if who:
                per_councillor.setdefault(who["ref"], []).append(event["sequence"])
        assert len(per_councillor) >= 12
        assert all(seq == sorted(seq) for seq in per_councillor.values())
        with store.read() as conn:
            states = conn.execute(
                sa.select(outbox_delivery_t.c.state, sa.func.count()).group_by(
                    outbox_delivery_t.c.state
                )
            ).all()
        assert dict(states) == {"delivered": len(sent)}


def test_switching_is_never_late_while_a_receiver_hangs(store):
    """The dispatcher's thread is stuck in a send for seconds; a reconcile and any other
    write take the lock at once, because nothing is sent while a transaction is open."""
    register(store, extra=0)
    with Loopback(SECRET, then="hang") as receiver:
        add_webhook(set_clock(store, SETUP), receiver.url, secret_env="HOOK_SECRET", environ=ENV)
        add_election(store, "local.ashfield.2026-05-07", nation="ENG")
        channel = WebhookChannel(store, timeout=4.0, environ=ENV)
        stop = threading.Event()
        worker = DispatchThread(store, [channel], poll=0.05, stop=stop)
        worker.start()
        try:
            deadline = time.monotonic() + 5
            while receiver.requests == 0 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert receiver.requests == 1  # the dispatcher is inside a send now
            # A lock wait over 0.5 s would be StoreBusy: the write lock is free although
            # the send has hung for a while already (the attempt's deadline is 4 s).
            hurried = Store(store.url, clock=lambda: APRIL, lock_wait=0.5)
            try:
                with hurried.read() as conn:  # connect first: time the reconcile alone
                    conn.exec_driver_sql("SELECT 1")
                assert receiver.requests == 1
                started = time.monotonic()
                result = reconcile(hurried)
                took = time.monotonic() - started
            finally:
                hurried.close()
            assert result.changes and not result.skipped
            assert took < 2.0, f"a reconcile took {took:.2f} s beside a hanging receiver"
        finally:
            worker.join(timeout=10)
            channel.close()


def test_several_nodes_send_each_delivery_once(store):
    """Three dispatchers (nodes) on one store, several endpoints: every delivery is sent
    by exactly one of them (no crash, so no resend), each endpoint's in order."""
    register(store)
    receivers = [Loopback(SECRET) for _ in range(3)]
    try:
        for receiver in receivers:
            add_webhook(
                set_clock(store, SETUP), receiver.url, secret_env="HOOK_SECRET", environ=ENV
            )
        add_election(store, "local.ashfield.2026-05-07", nation="ENG")
        reconcile(set_clock(store, APRIL))
        channels = [WebhookChannel(store, environ=ENV) for _ in range(3)]
        nodes = [Dispatcher(store, [c], node=f"node-{n}") for n, c in enumerate(channels)]
        threads = [threading.Thread(target=node.run_until_idle) for node in nodes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        for channel in channels:
            channel.close()
        expected = len(expected_events(store)) // 3
        for receiver in receivers:
            sequences = [e["sequence"] for e in receiver.handled]
            assert receiver.requests == len(sequences) == expected > 0
            assert sequences == sorted(sequences)
    finally:
        for receiver in receivers:
            receiver.close()
