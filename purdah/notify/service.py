"""What `purdah mail` and `purdah run` do with notices: plan them into the outbox, send the
e-mail lanes, list the log, resume an address, send a test message."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from purdah.errors import MailFailed, NotFound
from purdah.models import (
    council_t,
    mail_notice_t,
    outbox_delivery_t,
    outbox_lane_t,
)
from purdah.notify.addresses import check_address
from purdah.notify.channel import CHANNEL, EmailChannel
from purdah.notify.plan import PlanConfig, PlanResult, message_id
from purdah.notify.queue import plan_notices
from purdah.notify.settings import MailSettings
from purdah.notify.smtp import build_message, send
from purdah.outbox.dispatch import Dispatcher, DispatchReport
from purdah.outbox.events import DEAD, PENDING
from purdah.store import Store

log = logging.getLogger("purdah.mail")

N = mail_notice_t.c
D = outbox_delivery_t.c
L = outbox_lane_t.c


def plan_config(settings: MailSettings) -> PlanConfig:
    return PlanConfig(
        lead_days=settings.lead_days,
        digest_hour=settings.digest_hour,
        public_url=settings.public_url,
        domain=settings.domain,
    )


def plan_all(store: Store, settings: MailSettings, *, rounds: int = 50) -> PlanResult:
    """Plan until nothing due is left unrecorded (each round its own short write)."""
    config = plan_config(settings)
    total = plan_notices(store, config)
    for _ in range(rounds):
        if not total.deferred:
            break
        more = plan_notices(store, config)
        total.notices += more.notices
        total.recorded += more.recorded
        total.deferred = more.deferred
        total.unaddressed = more.unaddressed
    return total


def dispatch_mail(
    store: Store, settings: MailSettings, *, seconds: float | None = None
) -> DispatchReport:
    """Send the e-mail lanes' due deliveries until none is due (or `seconds` pass)."""
    deadline = None if seconds is None else time.monotonic() + seconds
    return Dispatcher(store, [EmailChannel(settings)]).run_until_idle(deadline=deadline)


@dataclass(frozen=True)
class LogRow:
    planned_at: datetime
    kind: str
    who: str  # COUNCIL/SLUG, or the council's slug for a digest
    address: str
    subject: str
    state: str  # pending, delivered, dead, cancelled (or "not queued")
    attempts: int
    last_error: str | None
    delivered_at: datetime | None
    message_id: str


def notice_log(
    store: Store, council: str | None = None, *, failed: bool = False, limit: int = 200
) -> list[LogRow]:
    from purdah.models import councillor_t, outbox_event_t

    P = councillor_t.c
    EV = outbox_event_t.c
    C = council_t.c
    query = (
        sa.select(
            N.planned_at,
            N.kind,
            C.slug,
            P.slug,
            N.address,
            N.subject,
            D.state,
            D.attempts,
            D.last_error,
            D.delivered_at,
            N.message_id,
        )
        .join_from(mail_notice_t, council_t, C.id == N.council_id)
        .outerjoin(councillor_t, P.id == N.councillor_id)
        .outerjoin(outbox_event_t, EV.id == N.event_id)
        .outerjoin(outbox_delivery_t, D.event_id == EV.id)
        .order_by(N.id.desc())
        .limit(limit)
    )
    with store.read() as conn:
        if council:
            from purdah.services.register import council_id

            query = query.where(N.council_id == council_id(conn, council))
        if failed:
            query = query.where(
                sa.or_(D.state == DEAD, sa.and_(D.state == PENDING, D.attempts > 0))
            )
        rows = conn.execute(query).all()
    return [
        LogRow(
            r[0],
            r[1],
            f"{r[2]}/{r[3]}" if r[3] else r[2],
            r[4],
            r[5],
            r[6] or "not queued",
            int(r[7] or 0),
            r[8],
            r[9],
            r[10],
        )
        for r in rows
    ]


def resume_address(store: Store, address: str) -> int:
    """Un-pause an address's lane after a dead letter and queue its dead notices again
    (same Message-ID). Returns how many were queued again."""
    address = check_address(address, "address")
    with store.write() as (conn, now):
        lane = conn.execute(
            sa.select(L.id).where(L.channel == CHANNEL, L.target == address)
        ).scalar()
        if lane is None:
            raise NotFound(f"no e-mail notice was ever queued for {address}: see 'purdah mail log'")
        again = conn.execute(
            sa.update(outbox_delivery_t)
            .where(D.lane_id == lane, D.state == DEAD)
            .values(state=PENDING, attempts=0, next_at=now)
        ).rowcount
        conn.execute(
            sa.update(outbox_lane_t)
            .where(L.id == lane)
            .values(paused_at=None, paused_reason=None, next_at=None)
        )
    return int(again or 0)


def send_test(settings: MailSettings, address: str) -> str:
    """Send one test message now, straight to the server (not through the outbox).
    Returns its Message-ID; MailFailed saying why otherwise."""
    to = check_address(address, "address")
    now = datetime.now(UTC)
    key = f"test:{to}:{now.isoformat()}"
    mid = message_id(key, settings.domain)
    body = (
        "This is a test message from purdah: the SMTP settings work.\n\n"
        f"Server: {settings.host}:{settings.port} ({settings.security})\n"
        f"Councillors are told {settings.lead_days} days before a pre-election period starts.\n"
    )
    sent = send(settings, build_message(settings, to, "purdah: test message", body, mid, now, key))
    if not sent.ok:
        raise MailFailed(f"the test message to {to} was not accepted: {sent.error}")
    return mid


def lanes_paused(store: Store) -> list[tuple[str, str | None]]:
    with store.read() as conn:
        return [
            (row.target, row.paused_reason)
            for row in conn.execute(
                sa.select(L.target, L.paused_reason).where(
                    L.channel == CHANNEL, L.paused_at.is_not(None)
                )
            )
        ]


def describe_plan(result: PlanResult) -> dict[str, Any]:
    return {
        "at": result.at.isoformat(),
        "dry_run": result.dry_run,
        "recorded": result.recorded,
        "deferred": result.deferred,
        "notices": [
            {
                "kind": n.kind,
                "to": n.address,
                "who": n.label,
                "subject": n.subject,
                "message_id": n.message_id,
                "key": n.key,
            }
            for n in result.notices
        ],
        "unaddressed": result.unaddressed,
    }
