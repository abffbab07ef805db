"""E-mail notices at national scale: what the planner costs the store, and what the
outbox dispatcher adds to sending, each as a ratio to a floor measured in the same run.

- the planner's idle minute (nothing due; it runs every minute inside `purdah run`,
  holding the write lock) against an idle reconcile tick at the same instant;
- queueing a notice for every councillor at the lead time of the mass PCC period (the
  ledger rows, outbox events and deliveries, in writes of at most 2,000) against the
  reconcile that switches every councillor at its start (the switch itself);
- sending through the outbox (claims, one recorded attempt per message) to a local SMTP
  server (aiosmtpd on 127.0.0.1) against bare smtplib sends of the same messages.

    .venv/bin/python bench/bench_notices.py [--councillors N] [--pg URL] [--mails N]
"""

from __future__ import annotations

import argparse
import smtplib
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))

from common import Row, emit, peak_mb
from national import MASS_BOUNDARY, SETUP, at, build

from purdah.models import councillor_t
from purdah.notify.queue import plan_notices
from purdah.notify.service import dispatch_mail, plan_all, plan_config
from purdah.notify.settings import load_settings
from purdah.services.reconcile import reconcile
from purdah.store import open_store

# At 1,000,000 councillors queueing a notice for everyone writes millions of ledger,
# outbox and delivery rows per store, minutes each; issue 12's figures do not include it.
MOST_COUNCILLORS = 100_000


def _median(fn, n: int = 5) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--councillors", type=int, default=20_000)
    parser.add_argument("--pg", default=None, metavar="URL", help="PostgreSQL instead of SQLite")
    parser.add_argument(
        "--send-seconds", type=float, default=30.0, help="how long the sending row sends for"
    )
    args = parser.parse_args()
    per_council = 10
    councils = max(args.councillors // per_council, 3)
    from tests.notify.smtp_server import SmtpServer

    server = SmtpServer().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            target = args.pg or str(Path(tmp) / "bench.db")
            if args.pg:
                engine = sa.create_engine(args.pg)
                with engine.begin() as conn:
                    conn.exec_driver_sql("DROP SCHEMA public CASCADE")
                    conn.exec_driver_sql("CREATE SCHEMA public")
                engine.dispose()
            build(target, councils, per_council)
            store = open_store(target)
            kind = store.dialect
            with store.write() as (conn, _now):
                conn.execute(
                    sa.update(councillor_t).values(
                        email=sa.literal("c")
                        + sa.cast(councillor_t.c.id, sa.String)
                        + "@example.org"
                    )
                )
                people = conn.execute(sa.select(sa.func.count()).select_from(councillor_t)).scalar()
            settings = load_settings(server.env(PURDAH_SMTP_TIMEOUT="10"))
            config = plan_config(settings)
            rows: list[Row] = []

            idle = SETUP + timedelta(days=1)
            at(store, idle)
            plan_idle = _median(lambda: plan_notices(store, config))
            tick_idle = _median(lambda: reconcile(store))
            rows.append(
                Row(
                    "mail plan: idle minute (nothing due)",
                    kind,
                    people,
                    plan_idle,
                    tick_idle,
                    "idle reconcile tick",
                    peak_mb=peak_mb(),
                )
            )

            lead = MASS_BOUNDARY - timedelta(days=7)
            at(store, lead)
            t0 = time.perf_counter()
            queued = plan_all(store, settings, rounds=10_000)
            plan_mass = time.perf_counter() - t0
            at(store, MASS_BOUNDARY)
            t0 = time.perf_counter()
            switched = reconcile(store)
            switch = time.perf_counter() - t0
            rows.append(
                Row(
                    f"mail plan: mass lead time ({queued.recorded:,} notices queued)",
                    kind,
                    people,
                    plan_mass,
                    switch,
                    f"the mass switch ({len(switched.changes):,} flag changes)",
                    peak_mb=peak_mb(),
                )
            )

            # Sending: what the dispatcher sends in --send-seconds, then the same messages
            # again with bare smtplib (one connection each, as the channel does).
            at(store, MASS_BOUNDARY + timedelta(minutes=1))
            before = len(server.inbox.messages)
            t0 = time.perf_counter()
            dispatch_mail(store, settings, seconds=args.send_seconds)
            through = time.perf_counter() - t0
            sent = len(server.inbox.messages) - before
            store.close()
            messages = list(server.inbox.messages[before:])
            t0 = time.perf_counter()
            for message in messages:
                with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as client:
                    client.send_message(message)
            bare = time.perf_counter() - t0
            rows.append(
                Row(
                    f"mail send: {sent:,} messages through the outbox",
                    kind,
                    people,
                    through,
                    bare,
                    "bare smtplib sends of the same messages",
                    peak_mb=peak_mb(),
                )
            )
    finally:
        server.stop()
    emit(rows)


if __name__ == "__main__":
    main()
