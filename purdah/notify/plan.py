"""Which e-mail notices are due at an instant, each planned exactly once.

For every councillor in office with an e-mail address, and every restricted period that
applies to them (council-wide, or for their ward), the planner compares what they were
last told (the mail_notice ledger) with the period as it is now:

- nothing told yet, and the period starts within the lead time (counted in UK calendar
  days, so 7 days before 00:00 BST is 00:00 GMT a week earlier, across a clock change),
  or is already in force: **starts**;
- told, and the period's start or end has moved since: **changed**;
- told, and the period no longer applies (the poll was cancelled or withdrawn, the ward
  or area changed) before it ended: **cancelled**;
- told, and the period has ended (within a week: a store turned on later does not
  e-mail about old periods): **ended**.

Each clerk with an address gets one **digest** a day (from PURDAH_DIGEST_HOUR, UK time)
while any of the council's periods is coming within the lead time, in force, or ended
since the last digest, or councillors were told something.

A notice's key names the fact it tells (kind, recipient, period, dates, and the ledger
row it follows), and the ledger's key is unique: the planner runs under the store's write
lock, and the same fact is never planned twice, however often or wherever it runs. The
Message-ID of the e-mail is derived from the key, so retries resend the same message.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from purdah.clock import LONDON
from purdah.decide import ward_slug
from purdah.ical.writer import election_name
from purdah.models import (
    council_t,
    councillor_t,
    election_t,
    mail_notice_t,
    removed_window_t,
    window_t,
)
from purdah.notify.compose import (
    CANCELLED,
    CHANGED,
    DIGEST,
    ENDED,
    STARTS,
    DigestLine,
    Links,
    Period,
    Person,
    clerk_digest,
    councillor_notice,
)
from purdah.queries import among
from purdah.services.export import feed_path, subscription_links

C = council_t.c
P = councillor_t.c
W = window_t.c
E = election_t.c
N = mail_notice_t.c
R = removed_window_t.c

ENDED_GRACE = timedelta(days=7)  # an "ended" notice is not sent later than this
LEDGER_DAYS = timedelta(days=400)  # how far back the planner reads what it told
_FEW = 2000  # ids in an IN list; more, and the condition is left to Python
TOLD = (STARTS, CHANGED)  # the kinds after which a recipient holds dates


@dataclass(frozen=True)
class PlanConfig:
    lead_days: int
    digest_hour: int
    public_url: str
    domain: str  # of the sender: Message-IDs are made in it


@dataclass(frozen=True)
class Notice:
    key: str
    kind: str
    recipient: str  # councillor:ID or clerk:COUNCIL-ID
    address: str
    council_id: int
    councillor_id: int | None
    period: Period | None
    subject: str
    body: str
    message_id: str
    label: str  # who and what, for listings (COUNCIL/SLUG or the council's slug)
    reply_to: str | None = None  # the clerk's address, on a councillor's notice


@dataclass
class PlanResult:
    at: datetime
    notices: list[Notice] = field(default_factory=list)
    unaddressed: list[str] = field(default_factory=list)  # councillors told nothing: no address
    recorded: int = 0
    deferred: int = 0  # due but left for the next run (one write records at most `limit`)
    dry_run: bool = False


def lead_start(start: datetime, lead_days: int) -> datetime:
    """`lead_days` UK calendar days before `start`, at the same UK wall-clock time."""
    local = start.astimezone(LONDON)
    wall = local.replace(tzinfo=None) - timedelta(days=lead_days)
    return wall.replace(tzinfo=LONDON).astimezone(LONDON)


def message_id(key: str, domain: str) -> str:
    return f"<purdah.{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


def _iso(value: datetime) -> str:
    return value.astimezone(LONDON).isoformat()


def _among(column: Any, ids: set[int]) -> Any:
    """`column IN ids`, or true for a large set (the caller filters in Python)."""
    return among(column, ids) if len(ids) <= _FEW else sa.true()


def _instant(value: Any) -> datetime:
    assert isinstance(value, datetime), value
    return value


@dataclass(frozen=True)
class _Recipient:
    recipient: str
    address: str
    councillor_id: int
    person: Person
    feed: Links
    clerk: str | None


def _to_councillor(
    kind: str,
    key: str,
    period: Period,
    who: _Recipient,
    now: datetime,
    config: PlanConfig,
    **extra: Any,
) -> Notice:
    subject, body = councillor_notice(kind, who.person, period, who.feed, now, **extra)
    return Notice(
        key,
        kind,
        who.recipient,
        who.address,
        period.council_id,
        who.councillor_id,
        period,
        subject,
        body,
        message_id(key, config.domain),
        who.person.ref,
        who.clerk,
    )


@dataclass(frozen=True)
class _Told:
    id: int
    kind: str
    start: datetime | None
    end: datetime | None
    period: str
    election_id: str | None


def plan(
    conn: Connection, now: datetime, config: PlanConfig, limit: int | None = None
) -> PlanResult:
    """The notices due at `now` (nothing written): at most `limit` composed, the others
    only counted (`deferred`; the next run plans them)."""
    result = PlanResult(now)

    def room() -> bool:
        if limit is not None and len(result.notices) >= limit:
            result.deferred += 1
            return False
        return True

    councils = {
        row.id: row
        for row in conn.execute(
            sa.select(C.id, C.slug, C.name, C.clerk_email).where(C.kind != "removed")
        )
    }
    # What recipients were last told: the ledger of the last LEDGER_DAYS (a suffix of its
    # history, so the last row of each recipient and period is the last ever).
    told_by: dict[str, dict[str, _Told]] = defaultdict(dict)  # recipient -> period -> last
    told_councils: set[int] = set()
    told_people: set[int] = set()
    for row in conn.execute(
        sa.select(
            N.id,
            N.kind,
            N.recipient,
            N.period,
            N.start,
            N.end,
            N.election_id,
            N.council_id,
            N.councillor_id,
        )
        .where(N.kind != DIGEST, N.planned_at > now - LEDGER_DAYS)
        .order_by(N.id)
    ):
        told_by[row.recipient][row.period] = _Told(
            row.id, row.kind, row.start, row.end, row.period, row.election_id
        )
        told_councils.add(row.council_id)
        if row.councillor_id is not None:
            told_people.add(row.councillor_id)
    # The periods that can matter now: starting within the lead time (a margin of two days
    # for the clock change), in force or just ended, and every period of a council whose
    # councillors were told something (a move far ahead is still a change).
    horizon = now + timedelta(days=config.lead_days + 2)
    area_name = sa.select(C.name).where(C.slug == E.area).correlate(election_t).scalar_subquery()
    soon = sa.and_(W.end > now - ENDED_GRACE, W.start < horizon)
    if told_councils:
        soon = sa.or_(soon, sa.and_(W.end > now - ENDED_GRACE, _among(W.council_id, told_councils)))
    periods: dict[int, list[Period]] = defaultdict(list)
    for w in conn.execute(
        sa.select(W.council_id, E.election_id, W.ward, W.start, W.end, E.poll_date, area_name)
        .join_from(window_t, election_t, E.id == W.election_pk)
        .where(soon)
        .order_by(W.start, E.election_id)
    ):
        periods[w.council_id].append(
            Period(
                f"{w.council_id}/{w.election_id}/{w.ward or '-'}",
                w.council_id,
                w.election_id,
                election_name(w.election_id, w[6]),
                w.poll_date,
                w.ward,
                _instant(w.start),
                _instant(w.end),
            )
        )
    # Only councillors of those councils, and those told something, are read.
    wanted = {cid for cid in periods if cid in councils}
    people: list[Any] = []
    if wanted or told_people:
        who = sa.or_(
            _among(P.council_id, wanted) if wanted else sa.false(),
            _among(P.id, told_people) if told_people else sa.false(),
        )
        people = [
            row
            for row in conn.execute(
                sa.select(P.id, P.council_id, P.slug, P.name, P.ward, P.email)
                .where(P.left_at.is_(None), who)
                .order_by(P.council_id, P.slug)
            )
            if row.council_id in councils
        ]
    reasons = {
        (row.council_id, row.election_id): row.reason
        for row in conn.execute(
            sa.select(R.council_id, R.election_id, R.reason).order_by(R.removed_at, R.id)
        )
    }
    base = config.public_url

    def links(path: str) -> Links:
        found = subscription_links(base, path)
        return Links(found.webcal, found.https)

    # What each period says at `now`, worked out once (not once per councillor).
    due_from = {p.key: lead_start(p.start, config.lead_days) for ps in periods.values() for p in ps}
    dates = {p.key: f"{_iso(p.start)}/{_iso(p.end)}" for ps in periods.values() for p in ps}
    live = {
        cid: [p for p in ps if due_from[p.key] <= now < p.end + ENDED_GRACE]
        for cid, ps in periods.items()
    }

    for person_row in people:
        recipient = f"councillor:{person_row.id}"
        mine_told = told_by.get(recipient, {})
        ward = ward_slug(person_row.ward) if person_row.ward else None
        mine = [
            p
            for p in (
                periods.get(person_row.council_id, ())
                if mine_told
                else live.get(person_row.council_id, ())
            )
            if p.ward is None or p.ward == ward
        ]
        if not mine and not mine_told:
            continue  # the common case: nothing coming, nothing told
        council = councils[person_row.council_id]
        ref = f"{council.slug}/{person_row.slug}"
        if not person_row.email:
            if any(due_from[p.key] <= now < p.end for p in mine):
                result.unaddressed.append(ref)
            continue
        person = Person(person_row.id, ref, person_row.name, council.name)
        ctx = _Recipient(
            recipient,
            person_row.email,
            person_row.id,
            person,
            links(feed_path(ref=ref)),
            council.clerk_email,
        )

        def add(kind: str, key: str, period: Period, who: _Recipient = ctx, **extra: Any) -> None:
            if room():
                result.notices.append(_to_councillor(kind, key, period, who, now, config, **extra))

        for p in mine:
            last = mine_told.get(p.key)
            after = f":after-{last.id}" if last is not None else ""
            if last is None or last.kind == CANCELLED:
                if due_from[p.key] <= now < p.end:
                    add(STARTS, f"{STARTS}:{recipient}:{p.key}:{dates[p.key]}{after}", p)
            elif now >= p.end:
                if last.kind in TOLD and now < p.end + ENDED_GRACE:
                    add(ENDED, f"{ENDED}:{recipient}:{p.key}:{_iso(p.end)}", p)
            elif (last.start, last.end) != (p.start, p.end):
                previous = (
                    (last.start, last.end)
                    if last.start is not None and last.end is not None
                    else None
                )
                key = f"{CHANGED}:{recipient}:{p.key}:{dates[p.key]}{after}"
                add(CHANGED, key, p, previous=previous)
        current = {p.key for p in mine}
        for key, last in mine_told.items():
            if key in current or last.kind not in TOLD:
                continue
            if last.start is None or last.end is None or last.end <= now:
                continue
            council_id, _, rest = key.partition("/")
            election_id, _, ward_key = rest.rpartition("/")
            gone = Period(
                key,
                int(council_id),
                election_id,
                election_name(election_id),
                last.start.astimezone(LONDON).date(),
                None if ward_key == "-" else ward_key,
                last.start,
                last.end,
            )
            reason = reasons.get(
                (int(council_id), election_id),
                "the period no longer covers you (your ward or the council's area changed)",
            )
            add(
                CANCELLED,
                f"{CANCELLED}:{recipient}:{key}:{_iso(last.start)}:after-{last.id}",
                gone,
                reason=reason,
            )

    _plan_digests(conn, now, config, councils, people, periods, result, links, room)
    return result


def _plan_digests(
    conn: Connection,
    now: datetime,
    config: PlanConfig,
    councils: dict[int, Any],
    people: list[Any],
    periods: dict[int, list[Period]],
    result: PlanResult,
    links: Any,
    room: Any,
) -> None:
    local = now.astimezone(LONDON)
    if local.hour < config.digest_hour:
        return
    today = local.date()
    clerks = {cid: row for cid, row in councils.items() if row.clerk_email}
    if not clerks:
        return
    last_digest = dict(
        conn.execute(
            sa.select(N.council_id, sa.func.max(N.planned_at))
            .where(N.kind == DIGEST)
            .group_by(N.council_id)
        ).all()
    )
    names = {row.id: (f"{councils[row.council_id].slug}/{row.slug}", row.name) for row in people}
    for cid, council in sorted(clerks.items()):
        recipient = f"clerk:{cid}"
        key = f"{DIGEST}:{recipient}:{today.isoformat()}"
        since = last_digest.get(cid)
        since = since if since is not None else now - timedelta(days=1)
        lines: list[DigestLine] = []
        for p in periods.get(cid, ()):
            if lead_start(p.start, config.lead_days) <= now < p.start:
                lines.append(DigestLine(p, "starts"))
            elif p.start <= now < p.end:
                lines.append(DigestLine(p, "in force"))
            elif since <= p.end <= now:
                lines.append(DigestLine(p, "ended"))
        told_rows = conn.execute(
            sa.select(N.kind, N.councillor_id, N.election_id, N.address)
            .where(N.council_id == cid, N.kind != DIGEST, N.planned_at > since)
            .order_by(N.id)
        ).all()
        told = [
            f"{names.get(r.councillor_id, ('?', '?'))[1]} ({r.address}): {r.kind}, "
            f"{election_name(r.election_id or '')}"
            for r in told_rows
        ] + [
            f"{names.get(n.councillor_id or 0, ('?', '?'))[1]} ({n.address}): {n.kind}, "
            f"{n.period.election if n.period else ''}"
            for n in result.notices
            if n.council_id == cid and n.kind != DIGEST
        ]
        if not lines and not told:
            continue
        already = conn.execute(sa.select(N.id).where(N.key == key)).first()
        if already is not None or not room():
            continue
        slug = council.slug
        unaddressed = [r for r in result.unaddressed if r.startswith(f"{slug}/")]
        subject, body = clerk_digest(
            council.name,
            today,
            lines,
            told,
            unaddressed,
            links(feed_path(council=slug)),
            config.lead_days,
        )
        result.notices.append(
            Notice(
                key,
                DIGEST,
                recipient,
                council.clerk_email,
                cid,
                None,
                None,
                subject,
                body,
                message_id(key, config.domain),
                slug,
            )
        )


def new_notices(conn: Connection, notices: Iterable[Notice]) -> list[Notice]:
    """Those whose key is not in the ledger yet (the digest is checked when planned)."""
    notices = list(notices)
    if not notices:
        return []
    keys = [n.key for n in notices]
    known: set[str] = set()
    for i in range(0, len(keys), 500):
        known.update(conn.execute(sa.select(N.key).where(N.key.in_(keys[i : i + 500]))).scalars())
    return [n for n in notices if n.key not in known]


def ledger_row(notice: Notice, now: datetime, event_id: int | None) -> dict[str, Any]:
    p = notice.period
    return {
        "key": notice.key,
        "kind": notice.kind,
        "recipient": notice.recipient,
        "address": notice.address,
        "council_id": notice.council_id,
        "councillor_id": notice.councillor_id,
        "period": p.key if p else None,
        "election_id": p.election_id if p else None,
        "start": p.start if p else None,
        "end": p.end if p else None,
        "subject": notice.subject,
        "message_id": notice.message_id,
        "event_id": event_id,
        "planned_at": now,
    }
