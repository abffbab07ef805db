"""`purdah run` killed with SIGKILL at random moments during a burst of switches: no
event is lost, and the receiver sees duplicates only as at-least-once allows (each one
a resend of an event already received, never out of order after de-duplication).

The burst: councillors restricted by a window in force now get exemptions that start and
end a second or two ahead, so `purdah run`'s own boundary reconciles switch them (and,
after a kill, its start-up reconcile catches them up); half of them start at once, so the
test's own writes switch too. Each process is killed 0 to 2 s after its start-up reconcile.

Bounded: PURDAH_KILL9_KILLS kills (default 6; the soak is PURDAH_KILL9_KILLS=50), each
restart waits at most 20 s for the process to come up, the whole test at most 15 min.
"""

from __future__ import annotations

import base64
import os
import random
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta

import sqlalchemy as sa

from purdah.clock import LONDON
from purdah.decide import Action
from purdah.models import outbox_attempt_t, outbox_delivery_t, outbox_event_t
from purdah.outbox.dispatch import LEASE_SECONDS, Dispatcher, next_due
from purdah.outbox.webhooks import WebhookChannel
from purdah.services.elections import add_election
from purdah.services.history import exempt
from purdah.services.register import add_councillor
from purdah.services.webhooks import add_webhook
from tests.invariants import check_invariants
from tests.outbox.loopback import Loopback
from tests.services.helpers import nottinghamshire, use_clock

KILLS = int(os.environ.get("PURDAH_KILL9_KILLS", "6"))
SECRET = "whsec_" + base64.b64encode(b"kill -9 soak secret of 32 bytes.").decode()
ENV = {"HOOK_SECRET": SECRET}
COUNCILLORS = 24


def real_now() -> datetime:
    return datetime.now(LONDON)


def poll_in_force(store) -> None:
    """A by-election in Selston whose notice was yesterday: its window is in force now."""
    today = real_now().date()
    poll = today + timedelta(days=42)
    poll += timedelta(days=(3 - poll.weekday()) % 7)  # a Thursday
    add_election(store, f"local.selston.{poll}", nation="ENG", notice=today - timedelta(days=1))


def start(store_url: str, log):
    env = {**os.environ, **ENV}
    return subprocess.Popen(
        [sys.executable, "-m", "purdah", "run", "--db", store_url, "--interval", "1"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def up(log_path, runs: int) -> None:
    """Wait (at most 20 s) until the `runs`-th process has done its start-up reconcile:
    the kill then falls among its switching and sending, not in its imports."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if log_path.read_text(errors="replace").count("reconciled (start-up)") >= runs:
            return
        time.sleep(0.05)
    raise AssertionError(f"purdah run did not start within 20 s: see {log_path}")


def burst(store, rng: random.Random, count: int) -> None:
    now = real_now()
    for n in range(count):
        who = f"selston/member-{rng.randrange(COUNCILLORS):02d}"
        begins = now if rng.random() < 0.5 else now + timedelta(seconds=rng.uniform(0.5, 3))
        exempt(
            store,
            who,
            action=Action.PROMOTE,
            start=begins,
            end=begins + timedelta(seconds=rng.uniform(0.5, 3)),
            reason=f"burst {n}",
            granted_by="soak",
        )


def test_kill_9_during_a_burst_loses_no_event(store, tmp_path):
    rng = random.Random(int(os.environ.get("PURDAH_KILL9_SEED", "9")))
    use_clock(store, real_now)
    nottinghamshire(store)
    use_clock(store, real_now)
    for n in range(COUNCILLORS):
        add_councillor(store, f"selston/member-{n:02d}", name=f"Member {n}")
    poll_in_force(store)
    started = time.monotonic()
    killed = 0
    with Loopback(SECRET, plan=rng.choices(["ok", "ok", "ok", "500", "slow:0.3"], k=400)) as rx:
        add_webhook(store, rx.url, secret_env="HOOK_SECRET", environ=ENV)
        log = open(tmp_path / "run.log", "ab")  # noqa: SIM115 (closed below)
        try:
            for _round in range(KILLS):
                proc = start(store.url, log)
                try:
                    burst(store, rng, rng.randint(2, 6))
                    up(tmp_path / "run.log", _round + 1)
                    time.sleep(rng.uniform(0.0, 2.0))
                finally:
                    proc.send_signal(signal.SIGKILL)
                    proc.wait(timeout=20)
                assert proc.returncode == -signal.SIGKILL, "purdah run stopped by itself"
                killed += 1
                assert time.monotonic() - started < 840
            # A last run that is not killed heals what the kills left: it reconciles at
            # start-up (catching up every boundary missed) and sends what it can.
            time.sleep(3.5)  # the last exemptions have ended
            proc = start(store.url, log)
            time.sleep(6)
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        finally:
            log.close()
        # The leases the killed processes held expire; then everything due goes out.
        # Then everything due goes out, the clock moved past each back-off (a 500 in
        # the plan costs 5 s, then 5 min ...).
        shift = [timedelta(seconds=LEASE_SECONDS + 1)]
        use_clock(store, lambda: real_now() + shift[0])
        channel = WebhookChannel(store, timeout=2.0, environ=ENV)
        try:
            for _ in range(100):
                Dispatcher(store, [channel]).run_until_idle()
                due = next_due(store)
                if due is None:
                    break
                shift[0] += max(timedelta(0), due - store.clock()) + timedelta(seconds=1)
        finally:
            channel.close()
        time.sleep(0.5)
        audit = check_invariants(store)  # every audit row has its event (none lost)
        with store.read() as conn:
            expected = list(
                conn.execute(
                    sa.select(outbox_event_t.c.id)
                    .join(outbox_delivery_t, outbox_delivery_t.c.event_id == outbox_event_t.c.id)
                    .order_by(outbox_event_t.c.id)
                ).scalars()
            )
            states = dict(
                conn.execute(
                    sa.select(outbox_delivery_t.c.state, sa.func.count()).group_by(
                        outbox_delivery_t.c.state
                    )
                ).all()
            )
            nodes = set(conn.execute(sa.select(outbox_attempt_t.c.node).distinct()).scalars())
        handled = [e["sequence"] for e in rx.handled]
        # The killed processes sent (most of) it: not only the final drain here.
        assert {n.split(":")[1] for n in nodes} - {str(os.getpid())}
        print(
            f"\n{store.dialect}: {killed} SIGKILLs, {audit.rows} audit rows, {len(expected)} "
            f"events, {rx.requests} requests for {len(handled)} handled "
            f"({rx.requests - len(handled)} retries or duplicates)"
        )
        assert audit.rows > 0
        assert states == {"delivered": len(expected)}
        assert handled == expected  # every event handled once, in order
