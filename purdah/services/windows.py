"""Compute every council's windows from the register and the elections, and store them.

Each election covers the councils inside its area (purdah.coverage); each covered
council gets the election's window under that council's policy. Special cases
(RULES.md section 4): a cancelled poll's window ends when the clerk cancelled it
(flags come back only if no other window covers the council); a moved poll's window
runs from the earlier of the two starts to the new end, the gap restricted.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from purdah.clock import LONDON
from purdah.coverage import covering_keys
from purdah.decide import Span, ward_slug
from purdah.errors import PollError
from purdah.ids import Nation, parse_election_id
from purdah.models import (
    council_area_t,
    council_t,
    election_t,
    non_working_day_t,
    removed_window_t,
    window_t,
)
from purdah.outbox import events as outbox
from purdah.polls import check_poll_can_exist
from purdah.store import Store
from purdah.timetable import (
    EndPolicy,
    StartPolicy,
    Timetable,
    WindowPolicy,
    compute_timetable,
    window,
)

W = window_t.c
E = election_t.c


@dataclass(frozen=True)
class WindowChanges:
    added: int = 0
    changed: int = 0
    removed: int = 0


def extra_days(conn: Connection) -> dict[date, str]:
    return {
        row.day: row.reason
        for row in conn.execute(sa.select(non_working_day_t.c.day, non_working_day_t.c.reason))
    }


def election_timetable(
    election_id: str,
    nation: str | None,
    poll_date: date,
    extra: dict[date, str],
    referendum: str | None = None,
) -> Timetable:
    """The timetable of a stored election (its poll date may have moved from the id's)."""
    parsed = parse_election_id(election_id)
    if parsed.poll_date != poll_date:
        parsed = replace(parsed, poll_date=poll_date)
    return compute_timetable(parsed, Nation(nation) if nation else None, extra, referendum)


def _window_for(
    election: Any, policy: WindowPolicy, extra: dict[date, str]
) -> dict[str, Any] | None:
    tt = election_timetable(
        election.election_id, election.nation, election.poll_date, extra, election.referendum
    )
    win = window(
        tt,
        policy,
        actual_notice=election.notice,
        declared_at=election.declared_at,
        announced_at=election.announced_at,
    )
    # Warnings of the timetable (e.g. the referendum kind assumed) travel with the window,
    # and so does the reason a poll recorded before purdah checked it cannot be held.
    # (Stored notes are joined with "; ", so these say theirs with commas.)
    start, end = win.start, win.end
    notes = [w.replace("; ", ", ") for w in tt.warnings] + list(win.notes)
    try:
        check_poll_can_exist(tt)
    except PollError as exc:
        reason = str(exc).replace("; ", ", ")
        notes.append(f"{reason}: the window is kept (conservative), cancel or move the poll")
    start_basis, actual = win.start_basis, win.actual_notice
    run_up = win.run_up_start
    original = election.original_poll_date
    if original is not None and original != election.poll_date:
        first = window(
            election_timetable(
                election.election_id, election.nation, original, extra, election.referendum
            ),
            policy,
        )
        if first.start < start:
            start, start_basis, actual = first.start, first.start_basis, False
        notes.append(
            f"poll moved from {original} to {election.poll_date}: restricted from the earlier "
            "start to the new close, gap included (conservative)"
        )
    if election.status == "cancelled" and election.cancelled_at is not None:
        if election.cancelled_at <= start:
            return None
        if election.cancelled_at < end:
            end = election.cancelled_at
            notes.append("poll cancelled; the window ended when the clerk cancelled it")
    if run_up is not None and run_up >= start:
        run_up = None
    return {
        "start": start,
        "end": end,
        "start_basis": start_basis,
        "end_basis": win.end_basis,
        "actual_notice": actual,
        "rule": tt.rule.key,
        "notes": "; ".join(notes),
        "run_up_start": run_up,
        "last_day": win.last_day,
        "run_up_note": win.run_up_note if run_up is not None else "",
        "watch_from": run_up if run_up is not None else start,
    }


def desired_windows(conn: Connection) -> dict[tuple[int, int], dict[str, Any]]:
    """Every (council, election) window the register and elections call for now."""
    extra = extra_days(conn)
    councils = {
        row.id: row
        for row in conn.execute(sa.select(council_t).where(council_t.c.kind != "removed"))
    }
    by_area: dict[str, set[int]] = defaultdict(set)
    for cid, row in councils.items():
        for area in (row.slug, row.nation.lower(), "uk"):
            by_area[area].add(cid)
    for cid, area in conn.execute(sa.select(council_area_t.c.council_id, council_area_t.c.area)):
        if cid in councils:
            by_area[area].add(cid)

    wanted: dict[tuple[int, int], dict[str, Any]] = {}
    elections = conn.execute(sa.select(election_t).where(E.status != "withdrawn"))
    for election in elections:
        parsed = parse_election_id(election.election_id)
        cache: dict[tuple[str, str], Any] = {}
        covered = {
            c for key in covering_keys(election.type, election.area) for c in by_area.get(key, ())
        }
        for cid in sorted(covered):
            council = councils[cid]
            key = (council.start_policy, council.end_policy)
            if key not in cache:
                policy = WindowPolicy(StartPolicy(key[0]), EndPolicy(key[1]))
                cache[key] = _window_for(election, policy, extra)
            computed = cache[key]
            if computed is None:
                continue
            ward = None
            if (
                council.scope == "ward"
                and parsed.by_election
                and parsed.division
                and election.area == council.slug
            ):
                ward = ward_slug(parsed.division)
            wanted[(cid, election.id)] = {
                "council_id": cid,
                "election_pk": election.id,
                "ward": ward,
                **computed,
            }
    return wanted


_COMPARED = (
    "ward",
    "start",
    "end",
    "start_basis",
    "end_basis",
    "actual_notice",
    "rule",
    "notes",
    "run_up_start",
    "last_day",
    "run_up_note",
    "watch_from",
)


def recompute_windows(conn: Connection, now: datetime) -> WindowChanges:
    """Bring the window table in step with the register and elections (diff, not rebuild,
    so that window ids stay stable). `changed_at` moves to `now` on a window whose values
    change, and on every window that overlapped one removed: so a restricted period's
    last change can be read from its windows (the exported feeds need no writes)."""
    wanted = desired_windows(conn)
    existing = {(row.council_id, row.election_pk): row for row in conn.execute(sa.select(window_t))}
    gone = [row for key, row in existing.items() if key not in wanted]
    new = [values | {"changed_at": now} for key, values in wanted.items() if key not in existing]
    changed = [
        {"wid": existing[key].id, **values}
        for key, values in wanted.items()
        if key in existing and any(getattr(existing[key], f) != values[f] for f in _COMPARED)
    ]
    if gone:
        remember_removed(conn, gone, now)
        conn.execute(sa.delete(window_t).where(W.id.in_([row.id for row in gone])))
        for row in gone:
            conn.execute(
                sa.update(window_t)
                .where(W.council_id == row.council_id, W.start <= row.end, W.end >= row.start)
                .values(changed_at=now)
            )
    if new:
        forget_removed(conn, new)
        conn.execute(sa.insert(window_t), new)
    if changed:
        conn.execute(
            sa.update(window_t)
            .where(W.id == sa.bindparam("wid"))
            .values({**{f: sa.bindparam(f) for f in _COMPARED}, "changed_at": now}),
            [{k: v for k, v in row.items() if k in (*_COMPARED, "wid")} for row in changed],
        )
    outbox.record_window_changes(conn, now, existing, new, changed, gone)  # same transaction
    return WindowChanges(len(new), len(changed), len(gone))


# How long a removed period stays in the feeds as STATUS:CANCELLED: 30 days after the
# removal, or until the period's end if that is later (a calendar that syncs rarely still
# sees it cancelled before it would have begun or ended).
REMOVED_KEPT = timedelta(days=30)


def _removal_reason(election: Any) -> str:
    if election.status == "withdrawn":
        return "the election was withdrawn"
    if election.status == "cancelled":
        when = election.cancelled_at
        on = f" on {when.astimezone(LONDON):%d %B %Y}" if when is not None else ""
        return f"the poll was cancelled{on}, before the period began"
    return "the council is no longer covered by this election (its area or the register changed)"


def remember_removed(
    conn: Connection, windows: list[Any], now: datetime, reason: str | None = None
) -> None:
    """Keep removed windows (rows of the window table) so that the feeds publish their
    periods as cancelled (RemovedWindow). Call it before deleting the windows, or before
    deleting an election (the delete cascades), with `reason` saying why; without one the
    reason is read from the election's status."""
    if not windows:
        return
    pks = sorted({w.election_pk for w in windows})
    elections = {row.id: row for row in conn.execute(sa.select(election_t).where(E.id.in_(pks)))}
    rows = []
    for w in windows:
        election = elections[w.election_pk]
        rows.append(
            {
                "window_id": w.id,
                "council_id": w.council_id,
                "ward": w.ward,
                "election_id": election.election_id,
                "area": election.area,
                "poll_date": election.poll_date,
                "start": w.start,
                "end": w.end,
                "rule": w.rule,
                "reason": reason or _removal_reason(election),
                "changed_at": w.changed_at,
                "removed_at": now,
                "expires_at": max(now + REMOVED_KEPT, w.end),
            }
        )
    conn.execute(sa.insert(removed_window_t), rows)


def forget_removed(conn: Connection, windows: list[dict[str, Any]]) -> None:
    """A window that comes back (the same council and election) replaces its cancelled
    copy in the feeds: the old UID is dropped rather than shown cancelled beside the new."""
    R = removed_window_t.c
    kept = conn.execute(sa.select(R.id, R.council_id, R.election_id)).all()  # a short history
    if not kept:
        return
    ids = dict(conn.execute(sa.select(E.id, E.election_id)).all())
    back = {(w["council_id"], ids[w["election_pk"]]) for w in windows}
    stale = [row.id for row in kept if (row.council_id, row.election_id) in back]
    if stale:
        conn.execute(sa.delete(removed_window_t).where(R.id.in_(stale)))


def spans_query() -> sa.Select[Any]:
    """Windows with their election id, the shape `decide` needs."""
    return sa.select(
        W.council_id,
        E.election_id,
        W.start,
        W.end,
        W.ward,
        W.start_basis,
        W.end_basis,
        W.actual_notice,
        W.rule,
        W.notes,
        W.run_up_start,
        W.last_day,
        W.run_up_note,
        E.notice,
    ).join_from(window_t, election_t, W.election_pk == E.id)


def span_of(row: Any) -> Span:
    return Span(
        row.election_id,
        row.start,
        row.end,
        row.ward,
        row.start_basis,
        row.end_basis,
        row.actual_notice,
        row.rule,
        row.notes,
        row.run_up_start,
        row.last_day,
        row.run_up_note,
        row.notice,
    )


@dataclass(frozen=True)
class WindowRow:
    council: str
    election_id: str
    status: str
    start: datetime
    end: datetime
    start_basis: str
    end_basis: str
    actual_notice: bool
    rule: str
    ward: str | None
    notes: str
    run_up_start: datetime | None = None  # the run-up, when the policy does not restrict in it
    last_day: date | None = None
    run_up_note: str = ""


def list_windows(store: Store, council: str | None = None) -> list[WindowRow]:
    from purdah.services.register import council_id

    query = (
        sa.select(
            council_t.c.slug,
            E.election_id,
            E.status,
            W.start,
            W.end,
            W.start_basis,
            W.end_basis,
            W.actual_notice,
            W.rule,
            W.ward,
            W.notes,
            W.run_up_start,
            W.last_day,
            W.run_up_note,
        )
        .join_from(window_t, election_t, W.election_pk == E.id)
        .join(council_t, W.council_id == council_t.c.id)
        .order_by(council_t.c.slug, W.start, E.election_id)
    )
    with store.read() as conn:
        if council:
            query = query.where(W.council_id == council_id(conn, council))
        return [WindowRow(*row) for row in conn.execute(query)]


def next_boundary(conn: Connection, after: datetime) -> datetime | None:
    """The first window or exemption start or end strictly after `after`."""
    from purdah.models import exemption_t

    X = exemption_t.c
    candidates = [
        conn.execute(sa.select(sa.func.min(col)).where(col > after)).scalar()
        for col in (W.start, W.end, X.start, X.end)
    ]
    found = [c for c in candidates if c is not None]
    return min(found) if found else None
