"""Webhook endpoints and their deliveries: add, list, remove, test, the delivery log,
redeliver, resume, and dispatching now (the use cases behind `purdah webhook ...`)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from purdah.errors import InputError, NotFound
from purdah.models import (
    council_t,
    outbox_delivery_t,
    outbox_event_t,
    outbox_lane_t,
    webhook_t,
)
from purdah.outbox import events as outbox
from purdah.outbox.dispatch import Dispatcher, DispatchReport
from purdah.outbox.webhooks import (
    CHANNEL,
    TIMEOUT_SECONDS,
    WebhookChannel,
    check_secret,
    check_url,
)
from purdah.store import Store

H = webhook_t.c
D = outbox_delivery_t.c
L = outbox_lane_t.c
EV = outbox_event_t.c
ENV_NAME_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


@dataclass(frozen=True)
class WebhookRow:
    id: int
    url: str
    secret_env: str
    events: tuple[str, ...]  # () means every kind
    council: str | None  # None: every council
    created_at: datetime
    removed_at: datetime | None
    paused_at: datetime | None
    paused_reason: str | None
    pending: int
    delivered: int
    dead: int


def parse_events(values: Sequence[str]) -> tuple[str, ...]:
    """Kinds named with --events (comma-separated or repeated); () for all."""
    kinds = tuple(dict.fromkeys(k.strip() for v in values for k in v.split(",") if k.strip()))
    unknown = [k for k in kinds if k not in outbox.KINDS]
    if unknown:
        raise InputError(
            f"unknown event kind {unknown[0]!r}: the kinds are {', '.join(outbox.KINDS)}"
        )
    return kinds


def add_webhook(
    store: Store,
    url: str,
    *,
    secret_env: str,
    events: Sequence[str] = (),
    council: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> WebhookRow:
    """Register an endpoint. The secret must already be in environment variable
    `secret_env` of this process (checked, never stored): the sending process needs it too."""
    url = check_url(url)
    if not secret_env or set(secret_env) - ENV_NAME_CHARS or secret_env[0].isdigit():
        raise InputError(
            f"--secret-env {secret_env!r} is not an environment variable name "
            "(letters, digits and _)"
        )
    check_secret(secret_env, environ)
    kinds = parse_events(events)
    with store.write() as (conn, now):
        council_id = None
        if council is not None:
            from purdah.services.register import council_id as find_council

            council_id = find_council(conn, council)
        # The lane first: its target is the webhook's id, known only after the insert.
        placeholder = f"new-{now.timestamp()}-{url}"
        lane = outbox.lane_for(conn, now, CHANNEL, placeholder)
        hook_id = conn.execute(
            sa.insert(webhook_t).values(
                url=url,
                secret_env=secret_env,
                events="*" if not kinds else "," + ",".join(kinds) + ",",
                council_id=council_id,
                lane_id=lane,
                created_at=now,
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        conn.execute(sa.update(outbox_lane_t).where(L.id == lane).values(target=str(hook_id)))
    return get_webhook(store, int(hook_id))


def _rows(store: Store, where: sa.ColumnElement[bool] | None = None) -> list[WebhookRow]:
    counts = (
        sa.select(
            D.lane_id,
            sa.func.sum(sa.case((D.state == outbox.PENDING, 1), else_=0)).label("pending"),
            sa.func.sum(sa.case((D.state == outbox.DELIVERED, 1), else_=0)).label("delivered"),
            sa.func.sum(sa.case((D.state == outbox.DEAD, 1), else_=0)).label("dead"),
        )
        .group_by(D.lane_id)
        .subquery()
    )
    query = (
        sa.select(
            H.id,
            H.url,
            H.secret_env,
            H.events,
            council_t.c.slug,
            H.created_at,
            H.removed_at,
            L.paused_at,
            L.paused_reason,
            sa.func.coalesce(counts.c.pending, 0),
            sa.func.coalesce(counts.c.delivered, 0),
            sa.func.coalesce(counts.c.dead, 0),
        )
        .join_from(webhook_t, outbox_lane_t, L.id == H.lane_id)
        .outerjoin(council_t, council_t.c.id == H.council_id)
        .outerjoin(counts, counts.c.lane_id == H.lane_id)
        .order_by(H.id)
    )
    if where is not None:
        query = query.where(where)
    with store.read() as conn:
        rows = conn.execute(query).all()
    return [
        WebhookRow(
            r[0],
            r[1],
            r[2],
            () if r[3] == "*" else tuple(k for k in r[3].split(",") if k),
            r[4],
            r[5],
            r[6],
            r[7],
            r[8],
            int(r[9]),
            int(r[10]),
            int(r[11]),
        )
        for r in rows
    ]


def get_webhook(store: Store, hook_id: int) -> WebhookRow:
    rows = _rows(store, H.id == hook_id)
    if not rows:
        raise NotFound(f"no webhook {hook_id}: see 'purdah webhook list'")
    return rows[0]


def list_webhooks(store: Store, *, removed: bool = False) -> list[WebhookRow]:
    return _rows(store, None if removed else H.removed_at.is_(None))


def remove_webhook(store: Store, hook_id: int) -> tuple[WebhookRow, int]:
    """Stop sending to an endpoint: its pending deliveries are cancelled (kept, with the
    rest of its delivery log). Returns the row and how many were cancelled."""
    with store.write() as (conn, now):
        row = conn.execute(sa.select(H.lane_id, H.removed_at).where(H.id == hook_id)).first()
        if row is None or row.removed_at is not None:
            raise NotFound(f"no webhook {hook_id} to remove: see 'purdah webhook list'")
        conn.execute(sa.update(webhook_t).where(H.id == hook_id).values(removed_at=now))
        cancelled = conn.execute(
            sa.update(outbox_delivery_t)
            .where(D.lane_id == row.lane_id, D.state == outbox.PENDING)
            .values(state=outbox.CANCELLED)
        ).rowcount
    return get_webhook(store, hook_id), int(cancelled)


def _live_lane(conn: sa.Connection, hook_id: int) -> int:
    row = conn.execute(sa.select(H.lane_id, H.removed_at).where(H.id == hook_id)).first()
    if row is None or row.removed_at is not None:
        raise NotFound(f"no webhook {hook_id}: see 'purdah webhook list'")
    return int(row.lane_id)


def send_test(store: Store, hook_id: int) -> int:
    """Queue a `webhook.test` event for this endpoint alone (sent by the next dispatch;
    the command dispatches at once). Returns the delivery id."""
    with store.write() as (conn, now):
        lane = _live_lane(conn, hook_id)
        event = outbox.record_event(
            conn,
            now,
            outbox.NewEvent(
                outbox.WEBHOOK_TEST,
                None,
                now,
                "a test event from 'purdah webhook test'",
                {"webhook_id": hook_id},
            ),
        )
        return outbox.add_delivery(conn, now, event, lane)


@dataclass(frozen=True)
class DeliveryRow:
    id: int
    webhook: int | None
    channel: str
    target: str
    event: str  # the event id receivers see
    sequence: int
    kind: str
    subject: str  # COUNCIL/COUNCILLOR, or COUNCIL
    state: str
    attempts: int
    next_at: datetime | None  # the next try, for a pending delivery
    last_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    delivered_at: datetime | None


def list_deliveries(
    store: Store,
    *,
    webhook: int | None = None,
    failed: bool = False,
    limit: int | None = None,
) -> tuple[list[DeliveryRow], int]:
    """Deliveries, newest first; `failed`: those dead, or pending after a failed attempt.
    Returns (rows, how many matched in all)."""
    conditions: list[sa.ColumnElement[bool]] = []
    if webhook is not None:
        conditions.append(H.id == webhook)
    if failed:
        conditions.append(
            sa.or_(D.state == outbox.DEAD, sa.and_(D.state == outbox.PENDING, D.attempts > 0))
        )
    base = (
        sa.select(
            D.id,
            H.id,
            L.channel,
            L.target,
            EV.id,
            EV.kind,
            EV.council_slug,
            EV.councillor_slug,
            D.state,
            D.attempts,
            D.next_at,
            D.last_attempt_at,
            D.last_status,
            D.last_error,
            D.delivered_at,
        )
        .join_from(outbox_delivery_t, outbox_event_t, EV.id == D.event_id)
        .join(outbox_lane_t, L.id == D.lane_id)
        .outerjoin(webhook_t, H.lane_id == D.lane_id)
        .where(*conditions)
    )
    with store.read() as conn:
        instance = _instance(conn)
        total = int(
            conn.execute(sa.select(sa.func.count()).select_from(base.subquery())).scalar_one()
        )
        query = base.order_by(D.id.desc())
        if limit is not None:
            query = query.limit(limit)
        rows = conn.execute(query).all()
    return [
        DeliveryRow(
            r[0],
            r[1],
            r[2],
            r[3],
            outbox.event_key(instance, r[4]),
            r[4],
            r[5],
            "/".join(part for part in (r[6], r[7]) if part) or "-",
            r[8],
            r[9],
            r[10] if r[8] == outbox.PENDING else None,
            r[11],
            r[12],
            r[13],
            r[14],
        )
        for r in rows
    ], total


def _instance(conn: sa.Connection) -> str:
    from purdah.models import meta_t

    found = conn.execute(
        sa.select(meta_t.c.value).where(meta_t.c.key == outbox.INSTANCE_KEY)
    ).scalar()
    return str(found or "unset")


def redeliver(store: Store, delivery_id: int) -> DeliveryRow:
    """Send a delivery again at the next dispatch (the command dispatches at once), with
    its retries afresh: a dead or delivered one becomes pending, with the same event id
    (receivers that de-duplicate see it once). Its lane's pause and back-off are cleared."""
    with store.write() as (conn, now):
        row = conn.execute(sa.select(D.lane_id, D.state).where(D.id == delivery_id)).first()
        if row is None:
            raise NotFound(f"no delivery {delivery_id}: see 'purdah webhook deliveries'")
        if row.state == outbox.CANCELLED:
            raise InputError(
                f"delivery {delivery_id} was cancelled when its webhook was removed: "
                "add the webhook again to send new events"
            )
        conn.execute(
            sa.update(outbox_delivery_t)
            .where(D.id == delivery_id)
            .values(state=outbox.PENDING, attempts=0, next_at=now)
        )
        _resume_lane(conn, int(row.lane_id))
    rows, _total = list_deliveries(store, limit=None)
    return next(r for r in rows if r.id == delivery_id)


def _resume_lane(conn: sa.Connection, lane_id: int) -> None:
    conn.execute(
        sa.update(outbox_lane_t)
        .where(L.id == lane_id)
        .values(paused_at=None, paused_reason=None, next_at=None)
    )


def resume_webhook(store: Store, hook_id: int) -> WebhookRow:
    """Clear an endpoint's pause (after a dead letter) and back-off: its pending
    deliveries go at the next dispatch."""
    with store.write() as (conn, _now):
        _resume_lane(conn, _live_lane(conn, hook_id))
    return get_webhook(store, hook_id)


def dispatch(
    store: Store,
    *,
    seconds: float | None = None,
    timeout: float | None = None,
    environ: Mapping[str, str] | None = None,
) -> DispatchReport:
    """Send every delivery that is due now, until none is (or `seconds` have passed)."""
    channel = WebhookChannel(
        store, environ=environ, timeout=TIMEOUT_SECONDS if timeout is None else timeout
    )
    try:
        deadline = None if seconds is None else time.monotonic() + seconds
        return Dispatcher(store, [channel]).run_until_idle(deadline=deadline)
    finally:
        channel.close()


def paused_faults(store: Store) -> list[tuple[str, str]]:
    """(name, message) of every live endpoint paused after a dead letter (for doctor)."""
    return [
        (
            "webhook_paused",
            f"webhook {row.id} ({row.url}) is paused: {row.paused_reason}; {row.pending} "
            f"deliveries wait: fix the receiver, then 'purdah webhook resume {row.id}'",
        )
        for row in list_webhooks(store)
        if row.paused_at is not None
    ]
