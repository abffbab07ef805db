"""Planned notices into the outbox, inside the planner's write transaction.

Each notice becomes one outbox event (kind `notice.<kind>`, e.g. notice.starts) whose
`data` is the finished message (to, subject, body, Message-ID, the notice's key), one
pending delivery to the lane (`email`, ADDRESS), and its ledger row naming the event.
All three commit together or not at all, so a notice is never planned without being
queued, nor queued twice. The events are not fanned out to webhooks: they carry
councillors' addresses, and a webhook receiver hears of the same facts as period.* and
flag.changed events already.

The dispatcher (purdah.outbox.dispatch) then sends them like any delivery: claimed by
lane, in event order per address, retried on the outbox's schedule, dead after the last
try (and the address's lane paused), each attempt recorded.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from purdah.models import mail_notice_t, outbox_delivery_t, outbox_event_t, outbox_lane_t
from purdah.notify.plan import Notice, PlanConfig, PlanResult, ledger_row, new_notices, plan
from purdah.outbox.events import PENDING, last_event_id
from purdah.store import Store

CHANNEL = "email"
KIND_PREFIX = "notice."
EV = outbox_event_t.c
L = outbox_lane_t.c
_CHUNK = 500


def _lanes(conn: Connection, now: datetime, addresses: set[str]) -> dict[str, int]:
    """The lane id of every address (created where missing), set-based."""
    found: dict[str, int] = {}
    wanted = sorted(addresses)
    for i in range(0, len(wanted), _CHUNK):
        chunk = wanted[i : i + _CHUNK]
        found.update(
            conn.execute(
                sa.select(L.target, L.id).where(L.channel == CHANNEL, L.target.in_(chunk))
            ).all()
        )
    missing = [a for a in wanted if a not in found]
    if missing:
        conn.execute(
            sa.insert(outbox_lane_t),
            [{"channel": CHANNEL, "target": a, "created_at": now} for a in missing],
        )
        for i in range(0, len(missing), _CHUNK):
            found.update(
                conn.execute(
                    sa.select(L.target, L.id).where(
                        L.channel == CHANNEL, L.target.in_(missing[i : i + _CHUNK])
                    )
                ).all()
            )
    return found


def enqueue(conn: Connection, now: datetime, notices: Sequence[Notice]) -> int:
    """Record the notices (in order) as outbox events with their deliveries and ledger
    rows. Returns how many. Must run in the write transaction that planned them."""
    if not notices:
        return 0
    before = last_event_id(conn)
    conn.execute(
        sa.insert(outbox_event_t),
        [
            {
                "kind": KIND_PREFIX + n.kind,
                "council_id": n.council_id,
                "councillor_id": n.councillor_id,
                "audit_id": None,
                "flag": None,
                "old": None,
                "new": None,
                "at": n.period.start if n.period is not None and n.kind != "ended" else now,
                "recorded_at": now,
                "reason": n.subject,
                "election_ids": n.period.election_id if n.period is not None else "",
                "council_slug": n.label.partition("/")[0],
                "councillor_slug": n.label.partition("/")[2] or None,
                "data": json.dumps(
                    {
                        "to": n.address,
                        "subject": n.subject,
                        "body": n.body,
                        "message_id": n.message_id,
                        "notice_key": n.key,
                        "reply_to": n.reply_to,
                    },
                    sort_keys=True,
                ),
            }
            for n in notices
        ],
    )
    ids = list(conn.execute(sa.select(EV.id).where(EV.id > before).order_by(EV.id)).scalars().all())
    if len(ids) != len(notices):  # the write lock rules this out: refuse to guess
        raise RuntimeError(f"expected {len(notices)} new outbox events, found {len(ids)}")
    lanes = _lanes(conn, now, {n.address for n in notices})
    conn.execute(
        sa.insert(outbox_delivery_t),
        [
            {
                "event_id": event_id,
                "lane_id": lanes[n.address],
                "state": PENDING,
                "attempts": 0,
                "next_at": now,
                "created_at": now,
            }
            for event_id, n in zip(ids, notices, strict=True)
        ],
    )
    conn.execute(
        sa.insert(mail_notice_t),
        [ledger_row(n, now, event_id) for event_id, n in zip(ids, notices, strict=True)],
    )
    return len(notices)


# At most this many notices are recorded by one write (a mass election can make 100,000
# due at once): the write lock is held briefly, and the rest follow at the next run.
PLAN_LIMIT = 2000


def plan_notices(
    store: Store,
    config: PlanConfig,
    *,
    dry_run: bool = False,
    at: datetime | None = None,
    limit: int = PLAN_LIMIT,
) -> PlanResult:
    """Plan what is due and (unless a dry run) record it in the ledger and the outbox, in
    one write transaction at the store's instant: at most `limit` notices, the rest
    counted in `deferred` (planned again, and recorded, by the next run). A dry run reads
    at `at` (or the clock) and writes nothing."""
    if dry_run:
        with store.read() as conn:
            result = plan(conn, at or store.clock(), config)
            result.notices = new_notices(conn, result.notices)
        result.dry_run = True
        return result

    with store.write() as (conn, now):
        result = plan(conn, now, config, limit)
        result.notices = new_notices(conn, result.notices)
        result.recorded = enqueue(conn, now, result.notices)
    return result
