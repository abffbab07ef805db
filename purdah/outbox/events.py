"""Recording outbox events and their deliveries, inside the caller's write transaction.

Every function here takes the open connection of a `Store.write()` and its `now`, so an
event commits or rolls back with the change it describes. Nothing here sends anything.

- flag changes: `audit_mark` before the audit insert, `record_flag_changes` after it,
  which copies every flag_change row above the mark into an event (one INSERT ... SELECT,
  with the council, the councillor and the elections whose windows touch the change's
  instant) and fans them out to the matching webhooks;
- window changes (`record_window_changes`): one event per council and election whose
  restricted period was added, moved or cancelled;
- exemptions (`record_exemption`): one event per exemption recorded;
- any other kind (`record_event`), and deliveries to a lane of another channel
  (`lane_for`, `add_delivery`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from purdah.models import (
    council_t,
    councillor_t,
    election_t,
    exemption_t,
    flag_change_t,
    meta_t,
    outbox_delivery_t,
    outbox_event_t,
    outbox_lane_t,
    removed_window_t,
    webhook_t,
    window_t,
)
from purdah.queries import among

EV = outbox_event_t.c
D = outbox_delivery_t.c
L = outbox_lane_t.c
F = flag_change_t.c
P = councillor_t.c
W = window_t.c
H = webhook_t.c

INSTANCE_KEY = "outbox_instance"
# The kinds of event; a webhook subscribes to all ("*") or to a list of these.
FLAG_CHANGED = "flag.changed"
PERIOD_ADDED = "period.added"
PERIOD_MOVED = "period.moved"
PERIOD_CANCELLED = "period.cancelled"
EXEMPTION_ADDED = "exemption.added"
WEBHOOK_TEST = "webhook.test"  # sent only to the endpoint `webhook test` names
KINDS = (FLAG_CHANGED, PERIOD_ADDED, PERIOD_MOVED, PERIOD_CANCELLED, EXEMPTION_ADDED)

PENDING, DELIVERED, DEAD, CANCELLED = "pending", "delivered", "dead", "cancelled"
_FEW_COUNCILS = 500  # up to this many councils go in an IN list; more, and all are matched


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def last_event_id(conn: Connection) -> int:
    return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(EV.id), 0))).scalar_one())


def audit_mark(conn: Connection) -> int:
    """The highest audit row id now: call before inserting flag_change rows, under the
    write lock, and hand it to `record_flag_changes` after."""
    return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(F.id), 0))).scalar_one())


def record_flag_changes(conn: Connection, after_audit_id: int, now: datetime) -> int:
    """One `flag.changed` event for every audit row above `after_audit_id`, in audit order,
    and its deliveries. Returns the number of events. Set-based: two statements whatever
    the number of rows, plus one per council with a ward-scoped window at the instant."""
    before = last_event_id(conn)
    C = council_t.c
    E = election_t.c
    # The elections whose council-wide windows touch each (council, instant) switched.
    touched = (
        sa.select(P.council_id.label("council_id"), F.at.label("at"))
        .join_from(flag_change_t, councillor_t, P.id == F.councillor_id)
        .where(F.id > after_audit_id)
        .distinct()
        .cte("touched")
    )
    elections = (
        sa.select(
            touched.c.council_id,
            touched.c.at,
            sa.func.aggregate_strings(E.election_id, " ").label("ids"),
        )
        .join_from(
            touched,
            window_t,
            sa.and_(
                W.council_id == touched.c.council_id,
                W.start <= touched.c.at,
                W.end >= touched.c.at,
                W.ward.is_(None),
            ),
        )
        .join(election_t, E.id == W.election_pk)
        .group_by(touched.c.council_id, touched.c.at)
        .cte("elections")
    )
    rows = (
        sa.select(
            sa.literal(FLAG_CHANGED),
            P.council_id,
            F.councillor_id,
            F.id,
            F.flag,
            F.old,
            F.new,
            F.at,
            F.recorded_at,
            F.cause,
            sa.func.coalesce(elections.c.ids, ""),
            C.slug,
            P.slug,
            sa.literal("{}"),
        )
        .join_from(flag_change_t, councillor_t, P.id == F.councillor_id)
        .join(council_t, C.id == P.council_id)
        .outerjoin(
            elections,
            sa.and_(elections.c.council_id == P.council_id, elections.c.at == F.at),
        )
        .where(F.id > after_audit_id)
        .order_by(F.id)
    )
    columns = [
        "kind",
        "council_id",
        "councillor_id",
        "audit_id",
        "flag",
        "old",
        "new",
        "at",
        "recorded_at",
        "reason",
        "election_ids",
        "council_slug",
        "councillor_slug",
        "data",
    ]
    inserted = conn.execute(sa.insert(outbox_event_t).from_select(columns, rows)).rowcount
    if not inserted:
        return 0
    _add_ward_elections(conn, before)
    fan_out(conn, before, now)
    return int(inserted)


def _add_ward_elections(conn: Connection, after_event_id: int) -> None:
    """Ward-scoped windows (single-ward by-elections) count only for their ward's
    councillors; the ward's slug is computed in Python, so this rare case is a second pass."""
    from purdah.decide import ward_slug

    E = election_t.c
    # Only councils that have a ward-scoped window can gain one: looked up first (few),
    # so a mass switch's events are not each matched against the windows for nothing.
    # (Deduplicated here: a DISTINCT has SQLite walk an index and look up every row.)
    wards = sorted(set(conn.execute(sa.select(W.council_id).where(W.ward.is_not(None))).scalars()))
    if not wards:
        return
    query = (
        sa.select(EV.id, EV.election_ids, P.ward, W.ward.label("window_ward"), E.election_id)
        .join_from(outbox_event_t, councillor_t, P.id == EV.councillor_id)
        .join(
            window_t,
            sa.and_(
                W.council_id == EV.council_id,
                W.start <= EV.at,
                W.end >= EV.at,
                W.ward.is_not(None),
            ),
        )
        .join(election_t, E.id == W.election_pk)
        .where(EV.id > after_event_id, EV.kind == FLAG_CHANGED)
    )
    if len(wards) <= _FEW_COUNCILS:
        query = query.where(among(EV.council_id, wards))
    ward_windows = conn.execute(query).all()
    extra: dict[int, list[str]] = {}
    current: dict[int, str] = {}
    for row in ward_windows:
        if ward_slug(row.ward) == row.window_ward:
            extra.setdefault(row.id, []).append(row.election_id)
            current[row.id] = row.election_ids
    for event_id, ids in extra.items():
        merged = sorted(set(current[event_id].split()) | set(ids))
        conn.execute(
            sa.update(outbox_event_t).where(EV.id == event_id).values(election_ids=" ".join(merged))
        )


@dataclass(frozen=True)
class NewEvent:
    """An event of a kind other than flag.changed."""

    kind: str
    council_id: int | None
    at: datetime
    reason: str
    data: Mapping[str, Any]
    councillor_id: int | None = None
    election_ids: tuple[str, ...] = ()


def _slugs_of(conn: Connection, key: Any, slug: Any, ids: Iterable[int]) -> dict[int, str]:
    """{id: slug} of those ids, in one statement whatever their number (`among`: a
    recompute of 100,000 councils' windows once sent PostgreSQL more than its 65,535
    parameters)."""
    return dict(conn.execute(sa.select(key, slug).where(among(key, ids))).all())


def record_events(conn: Connection, now: datetime, events: Iterable[NewEvent]) -> list[int]:
    """Record events (in the order given) and fan them out to the matching webhooks;
    returns their ids. Council and councillor slugs are read here, as they are now."""
    events = list(events)
    if not events:
        return []
    before = last_event_id(conn)
    councils = {e.council_id for e in events if e.council_id is not None}
    people = {e.councillor_id for e in events if e.councillor_id is not None}
    council_slugs = _slugs_of(conn, council_t.c.id, council_t.c.slug, councils)
    councillor_slugs = _slugs_of(conn, P.id, P.slug, people)
    conn.execute(
        sa.insert(outbox_event_t),
        [
            {
                "kind": e.kind,
                "council_id": e.council_id,
                "councillor_id": e.councillor_id,
                "audit_id": None,
                "flag": None,
                "old": None,
                "new": None,
                "at": e.at,
                "recorded_at": now,
                "reason": e.reason,
                "election_ids": " ".join(e.election_ids),
                "council_slug": council_slugs.get(e.council_id) if e.council_id else None,
                "councillor_slug": councillor_slugs.get(e.councillor_id)
                if e.councillor_id
                else None,
                "data": json.dumps(dict(e.data), sort_keys=True),
            }
            for e in events
        ],
    )
    ids = [
        int(i)
        for i in conn.execute(sa.select(EV.id).where(EV.id > before).order_by(EV.id)).scalars()
    ]
    if events[0].kind != WEBHOOK_TEST:
        fan_out(conn, before, now)
    return ids


def record_event(conn: Connection, now: datetime, event: NewEvent) -> int:
    return record_events(conn, now, [event])[0]


def fan_out(conn: Connection, after_event_id: int, now: datetime) -> int:
    """A pending delivery of every event above `after_event_id` to every webhook whose
    council (or none: all councils) and event kinds match. One INSERT ... SELECT (none
    when no webhook is live: nothing can match, and the events need not be read)."""
    if conn.execute(sa.select(H.id).where(H.removed_at.is_(None)).limit(1)).first() is None:
        return 0
    events_match = sa.or_(
        H.events == "*",
        H.events.like(sa.literal("%,") + EV.kind + sa.literal(",%")),
    )
    rows = (
        sa.select(
            EV.id,
            H.lane_id,
            sa.literal(PENDING),
            sa.literal(0),
            sa.literal(now, type_=EV.at.type),
            sa.literal(now, type_=EV.at.type),
        )
        .join_from(
            outbox_event_t,
            webhook_t,
            sa.and_(
                H.removed_at.is_(None),
                sa.or_(H.council_id.is_(None), H.council_id == EV.council_id),
                events_match,
            ),
        )
        .where(EV.id > after_event_id, EV.kind != WEBHOOK_TEST)
        .order_by(EV.id, H.lane_id)
    )
    result = conn.execute(
        sa.insert(outbox_delivery_t).from_select(
            ["event_id", "lane_id", "state", "attempts", "next_at", "created_at"], rows
        )
    )
    return int(result.rowcount or 0)


def lane_for(conn: Connection, now: datetime, channel: str, target: str) -> int:
    """The id of the lane (channel, target), created if it does not exist yet."""
    found = conn.execute(sa.select(L.id).where(L.channel == channel, L.target == target)).scalar()
    if found is not None:
        return int(found)
    result = conn.execute(
        sa.insert(outbox_lane_t).values(channel=channel, target=target, created_at=now)
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def add_delivery(conn: Connection, now: datetime, event_id: int, lane_id: int) -> int:
    """A pending delivery of one event to one lane (of any channel)."""
    result = conn.execute(
        sa.insert(outbox_delivery_t).values(
            event_id=event_id,
            lane_id=lane_id,
            state=PENDING,
            attempts=0,
            next_at=now,
            created_at=now,
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def instance_id(conn: Connection) -> str:
    """This store's outbox instance (part of every event id); made on first need."""
    found = conn.execute(sa.select(meta_t.c.value).where(meta_t.c.key == INSTANCE_KEY)).scalar()
    if found:
        return str(found)
    import secrets

    value = secrets.token_hex(6)
    conn.execute(sa.insert(meta_t).values(key=INSTANCE_KEY, value=value))
    return value


def event_key(instance: str, event_id: int) -> str:
    """The event's id for receivers (webhook-id): the idempotency key of every delivery."""
    return f"evt_{instance}_{event_id}"


# --- window and exemption changes --------------------------------------------------------

_PERIOD = ("start", "end", "ward")


def record_window_changes(
    conn: Connection,
    now: datetime,
    existing: Mapping[tuple[int, int], Any],
    added: list[dict[str, Any]],
    changed: list[dict[str, Any]],
    removed: list[Any],
) -> int:
    """Events for the restricted periods a recompute altered, one per council and election:
    period.added, period.moved (start, end or ward changed; a change of notes alone is not
    one) and period.cancelled (the window was removed: its reason is the one kept in
    removed_window). Call at the end of recompute_windows with what it compared."""
    E = election_t.c
    pks = {row["election_pk"] for row in added} | {
        existing_row.election_pk for existing_row in removed
    }
    by_id = {existing[key].id: existing[key] for key in existing}
    moved = []
    for row in changed:
        old = by_id[row["wid"]]
        if any(getattr(old, f) != row[f] for f in _PERIOD):
            moved.append((old, row))
            pks.add(old.election_pk)
    if not (added or moved or removed):
        return 0
    ids = dict(conn.execute(sa.select(E.id, E.election_id).where(among(E.id, pks))).all())
    events: list[NewEvent] = []
    for row in added:
        eid = ids[row["election_pk"]]
        events.append(
            NewEvent(
                PERIOD_ADDED,
                row["council_id"],
                now,
                f"restricted period for {eid} added",
                _period(eid, row["start"], row["end"], row["ward"], row["rule"]),
                election_ids=(eid,),
            )
        )
    for old, row in moved:
        eid = ids[old.election_pk]
        data = _period(eid, row["start"], row["end"], row["ward"], row["rule"])
        data["previous"] = {"start": iso(old.start), "end": iso(old.end), "ward": old.ward}
        events.append(
            NewEvent(
                PERIOD_MOVED,
                old.council_id,
                now,
                f"restricted period for {eid} moved",
                data,
                election_ids=(eid,),
            )
        )
    if removed:
        R = removed_window_t.c
        reasons = dict(
            conn.execute(
                sa.select(R.window_id, R.reason).where(
                    R.removed_at == now, among(R.window_id, [w.id for w in removed])
                )
            ).all()
        )
        for w in removed:
            eid = ids[w.election_pk]
            reason = reasons.get(w.id, "the window was removed")
            data = _period(eid, w.start, w.end, w.ward, w.rule)
            events.append(
                NewEvent(PERIOD_CANCELLED, w.council_id, now, reason, data, election_ids=(eid,))
            )
    events.sort(key=lambda e: (e.council_id or 0, e.kind, e.election_ids))
    return len(record_events(conn, now, events))


def _period(
    election_id: str, start: datetime, end: datetime, ward: str | None, rule: str
) -> dict[str, Any]:
    return {
        "election_id": election_id,
        "start": iso(start),
        "end": iso(end),
        "ward": ward,
        "rule": rule,
    }


def record_exemption(conn: Connection, now: datetime, exemption_id: int) -> int:
    """An exemption.added event for the exemption just recorded (for its councillor)."""
    X = exemption_t.c
    row = conn.execute(
        sa.select(exemption_t, P.council_id)
        .join_from(exemption_t, councillor_t, P.id == X.councillor_id)
        .where(X.id == exemption_id)
    ).one()
    return record_event(
        conn,
        now,
        NewEvent(
            EXEMPTION_ADDED,
            row.council_id,
            row.start,
            row.reason,
            {
                "exemption_id": row.id,
                "action": row.action,
                "start": iso(row.start),
                "end": iso(row.end),
                "granted_by": row.granted_by,
            },
            councillor_id=row.councillor_id,
        ),
    )
