"""Webhook delivery under a burst of switches: latency and throughput on loopback, as
ratios to the time of the switch itself.

Builds the shared national register (bench/national.py) with --councillors councillors
(10 per council), points one webhook at a verifying receiver on 127.0.0.1 in another
process (the contrib example's verification and de-duplication), and reconciles at the
mass boundary, where every councillor switches (about 1.5 flag changes each, so 6,670
councillors give about 10,000 switches; the register is first caught up to a second
before the boundary). The dispatcher runs on its own thread, as in `purdah run`, woken
by the reconcile. Figures, each against the switch (the reconcile that writes the flags,
the audit and the outbox events with their deliveries), measured in the same run:
- delivery latency, median and p99, from the reconcile's commit to the receiver's
  handling;
- the time until the last event of the burst is handled (throughput);
- the reconcile itself against the same reconcile with the outbox writes left out.

    .venv/bin/python bench/bench_webhooks.py [--councillors 6670] [--pg URL]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))

from common import Row, emit, peak_mb
from national import MASS_BOUNDARY, at, build

from purdah.outbox import events as outbox_events
from purdah.outbox.dispatch import DispatchThread
from purdah.outbox.webhooks import WebhookChannel
from purdah.services.reconcile import reconcile
from purdah.services.webhooks import add_webhook
from purdah.store import open_store

SECRET = "whsec_" + base64.b64encode(b"bench secret, thirty-two bytes!!").decode()
ENV = {"BENCH_HOOK_SECRET": SECRET}
PER_COUNCIL = 10


# At 1,000,000 councillors the burst is 1.5 million deliveries, about half an hour per store
# at the loopback rate (about 900 a second at 1,000); issue 12's figures do not include it.
MOST_COUNCILLORS = 100_000


def fresh(url_or_path: str, councillors: int, pg: bool) -> str:
    if pg:
        import sqlalchemy as sa

        engine = sa.create_engine(url_or_path)
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
        engine.dispose()
    build(url_or_path, max(councillors // PER_COUNCIL, 3), PER_COUNCIL)
    # Caught up to just before the boundary (not measured, no webhook yet): the burst is
    # then the boundary's switch alone, not two years of missed boundaries.
    store = open_store(url_or_path)
    reconcile(at(store, MASS_BOUNDARY - timedelta(seconds=1)))
    store.close()
    return url_or_path


def switch_without_outbox(db: str, councillors: int, pg: bool) -> tuple[float, int]:
    """The floor: the same mass switch with the outbox writes left out."""
    fresh(db, councillors, pg)
    store = open_store(db)
    saved = outbox_events.record_flag_changes
    outbox_events.record_flag_changes = lambda conn, mark, now: 0  # type: ignore[assignment]
    try:
        t0 = time.perf_counter()
        result = reconcile(at(store, MASS_BOUNDARY))
        seconds = time.perf_counter() - t0
    finally:
        outbox_events.record_flag_changes = saved
        store.close()
    return seconds, len(result.changes)


class Receiver:
    """bench/webhook_receiver.py in a child process."""

    def __init__(self) -> None:
        env = {**os.environ, **ENV}
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).parent / "webhook_receiver.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()

    def ask(self, what: str = "count") -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(what + "\n")
        self.proc.stdin.flush()
        answer: dict[str, Any] = json.loads(self.proc.stdout.readline())
        return answer

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def burst(db: str, councillors: int, pg: bool) -> dict[str, float]:
    fresh(db, councillors, pg)
    store = open_store(db)
    receiver = Receiver()
    try:
        add_webhook(
            at(store, MASS_BOUNDARY), receiver.url, secret_env="BENCH_HOOK_SECRET", environ=ENV
        )
        channel = WebhookChannel(store, environ=ENV)
        stop = threading.Event()
        worker = DispatchThread(store, [channel], poll=0.2, stop=stop)
        worker.start()
        try:
            t0 = time.perf_counter()
            result = reconcile(at(store, MASS_BOUNDARY))
            switch = time.perf_counter() - t0
            committed = time.time()
            worker.wake()
            events = len(result.changes)
            deadline = time.monotonic() + 1800
            while receiver.ask()["handled"] < events and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            worker.join(timeout=30)
            channel.close()
        answer = receiver.ask("dump")
    finally:
        receiver.close()
    store.close()
    latencies = sorted(t - committed for t in answer["received_at"].values())
    handled = len(latencies)
    if handled < events:
        print(f"NOT ALL DELIVERED: {handled} of {events} within the bound", file=sys.stderr)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return {
        "switch": switch,
        "events": events,
        "handled": handled,
        "median": statistics.median(latencies),
        "p99": p99,
        "last": latencies[-1],
        "requests": answer["requests"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--councillors", type=int, default=6_670)
    parser.add_argument("--pg", metavar="URL", default=None, help="PostgreSQL (emptied!)")
    args = parser.parse_args()
    pg = args.pg is not None
    db = args.pg or str(Path(tempfile.mkdtemp(prefix="purdah-bench-hooks-")) / "bench.db")
    if not pg:
        Path(db).unlink(missing_ok=True)
    floor, changes = switch_without_outbox(db, args.councillors, pg)
    if not pg:
        Path(db).unlink()
    got = burst(db, args.councillors, pg)
    switch = got["switch"]
    name = "postgresql" if pg else "sqlite"
    n = args.councillors
    label = f"{int(got['events']):,} switches"
    print(
        f"{label}: reconcile {switch:.2f} s; {int(got['handled']):,} handled in "
        f"{got['last']:.1f} s ({got['handled'] / got['last']:.0f}/s), "
        f"{int(got['requests']):,} requests"
    )
    emit(
        [
            Row(
                f"mass switch with outbox events and deliveries ({changes:,} changes)",
                name,
                n,
                switch,
                floor,
                "the same reconcile without the outbox writes",
                1.5,
                peak_mb(),
            ),
            Row(
                f"webhook latency, median, switch commit to receipt ({label})",
                name,
                n,
                got["median"],
                switch,
                "the switch (reconcile)",
            ),
            Row(
                f"webhook latency, p99 ({label})",
                name,
                n,
                got["p99"],
                switch,
                "the switch (reconcile)",
            ),
            Row(
                f"webhook burst drained: last of {label} received",
                name,
                n,
                got["last"],
                switch,
                "the switch (reconcile)",
            ),
        ]
    )


if __name__ == "__main__":
    main()
