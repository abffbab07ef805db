"""Compute every council's windows from the register and the elections, and store them.

Each election covers the councils inside its area (purdah.coverage); each covered
council gets the election's window under that council's policy. Special cases
(RULES.md section 4): a cancelled poll's window ends when the clerk cancelled it
(flags come back only if no other window covers the council); a moved poll's window
runs from the earlier of the two starts to the new end, the gap restricted.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from purdah.choices import COUNCIL_NATIONS, REMOVED_KIND, ElectionStatus
from purdah.clock import LONDON
from purdah.coverage import UK_AREA, council_areas, covering_keys
from purdah.decide import ward_slug
from purdah.errors import PollError
from purdah.ids import Nation, parse_election_id
from purdah.models import (
    council_area_t,
    council_t,
    election_t,
    meta_t,
    non_working_day_t,
    removed_window_t,
    window_t,
)
from purdah.outbox import events as outbox
from purdah.polls import check_poll_can_exist
from purdah.queries import among
from purdah.queries import span_of as span_of  # re-exported: its old home
from purdah.queries import spans_query as spans_query  # re-exported: its old home
from purdah.services.listing import WindowRow as WindowRow  # its home is listing
from purdah.services.listing import list_windows as list_windows
from purdah.store import db_instant
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
log = logging.getLogger("purdah.windows")


@dataclass(frozen=True)
class WindowChanges:
    added: int = 0
    changed: int = 0
    removed: int = 0
    # Why every window was recomputed (not only those of the change), else None.
    full: str | None = None

    def note(self) -> str:
        """After a full recompute: " (every window recomputed: WHY)"; else nothing."""
        return f" (every window recomputed: {self.full})" if self.full else ""

    def describe(self) -> str:
        return f"{self.added} added, {self.changed} changed, {self.removed} removed{self.note()}"


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


# What every window's values are computed by: a stored window is what this purdah would
# compute only if it was computed by the same rules and holiday data. A write to a store
# whose windows were computed by another version recomputes every window (and says so).
RULES_FINGERPRINT_KEY = "windows_computed_by"


def rules_fingerprint() -> str:
    from purdah import __version__
    from purdah.calendars import holiday_data_version

    return f"purdah {__version__}, {holiday_data_version()}"


@dataclass(frozen=True)
class Scope:
    """What a write changed, so that only the windows it can affect are recomputed: every
    window of `elections` (for each council they cover, or covered before) and every
    window of `councils` (for each election covering them, or covering them before). A
    window is a pure function of its council (row and areas), its election and the
    non-working days, so the other windows cannot change: a full recompute gives them
    back as they are (tests/services/test_windows_incremental.py checks it)."""

    elections: frozenset[int] = frozenset()
    councils: frozenset[int] = frozenset()

    @classmethod
    def of(cls, *, elections: Iterable[int] = (), councils: Iterable[int] = ()) -> Scope:
        return cls(frozenset(elections), frozenset(councils))


# The election columns a window is computed from (_window_for, coverage): a write that
# changes none of them for an election leaves its windows as they are.
_WINDOW_INPUTS = (
    E.id,
    E.election_id,
    E.type,
    E.area,
    E.nation,
    E.poll_date,
    E.original_poll_date,
    E.notice,
    E.announced_at,
    E.referendum,
    E.declared_at,
    E.status,
    E.cancelled_at,
)


def election_inputs(conn: Connection, where: Any) -> dict[int, tuple[Any, ...]]:
    """What the windows of the elections matching `where` are computed from, by id: read
    before and after a write that changes elections in many ways (an import), the ids
    whose entry differs (`changed_elections`) are the write's scope."""
    return {row[0]: tuple(row) for row in conn.execute(sa.select(*_WINDOW_INPUTS).where(where))}


def changed_elections(
    before: dict[int, tuple[Any, ...]], after: dict[int, tuple[Any, ...]]
) -> set[int]:
    return {pk for pk in before.keys() | after.keys() if before.get(pk) != after.get(pk)}


def _council_rows(conn: Connection, ids: Iterable[int] | None = None) -> dict[int, Any]:
    query = sa.select(council_t).where(council_t.c.kind != REMOVED_KIND)
    if ids is None:
        return {row.id: row for row in conn.execute(query)}
    chosen = set(ids)
    if len(chosen) > _FEW:  # many: read them all rather than a long IN list
        return {row.id: row for row in conn.execute(query) if row.id in chosen}
    return {row.id: row for row in conn.execute(query.where(among(council_t.c.id, chosen)))}


def _by_area(
    conn: Connection, councils: dict[int, Any], keys: set[str] | None = None
) -> dict[str, set[int]]:
    """Area key -> the councils (of `councils`) lying within it (RULES.md section 1): for
    every key, or only for `keys` (the areas of the elections being computed)."""
    by_area: dict[str, set[int]] = defaultdict(set)
    for cid, row in councils.items():
        for area in council_areas(row.slug, row.nation, ()):
            by_area[area].add(cid)
    A = council_area_t.c
    query = sa.select(A.council_id, A.area)
    if keys is not None:
        query = query.where(among(A.area, keys))
    elif len(councils) <= _FEW:
        query = query.where(among(A.council_id, councils))
    for cid, area in conn.execute(query):
        if cid in councils:
            by_area[area].add(cid)
    return by_area


def _covered_councils(conn: Connection, keys: set[str]) -> dict[int, Any]:
    """The councils an election held for any of `keys` covers (the rows, not removed):
    by slug and by the areas they lie within (both indexed), by nation only for a poll
    held for a nation."""
    if UK_AREA in keys:
        return _council_rows(conn)
    C, A = council_t.c, council_area_t.c
    wanted = sorted(keys)
    ids = set(conn.execute(sa.select(C.id).where(among(C.slug, wanted))).scalars())
    ids |= set(conn.execute(sa.select(A.council_id).where(among(A.area, wanted))).scalars())
    nations = [n for n in COUNCIL_NATIONS if n.lower() in keys]
    if nations:
        ids |= set(conn.execute(sa.select(C.id).where(C.nation.in_(nations))).scalars())
    return _council_rows(conn, ids) if ids else {}


def _windows_of(
    elections: Iterable[Any],
    councils: dict[int, Any],
    by_area: dict[str, set[int]],
    extra: dict[date, str],
) -> dict[tuple[int, int], dict[str, Any]]:
    """The (council, election) windows of `elections` over the councils of `councils`
    they cover."""
    wanted: dict[tuple[int, int], dict[str, Any]] = {}
    for election in elections:
        if election.status == ElectionStatus.WITHDRAWN:
            continue
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


def desired_windows(
    conn: Connection, scope: Scope | None = None
) -> dict[tuple[int, int], dict[str, Any]]:
    """The (council, election) windows the register and elections call for now: all of
    them, or those of `scope`."""
    extra = extra_days(conn)
    alive = E.status != ElectionStatus.WITHDRAWN
    if scope is None:
        councils = _council_rows(conn)
        elections = conn.execute(sa.select(election_t).where(alive).order_by(E.id))
        return _windows_of(elections, councils, _by_area(conn, councils), extra)
    wanted: dict[tuple[int, int], dict[str, Any]] = {}
    if scope.elections:
        chosen = conn.execute(
            sa.select(election_t).where(alive, among(E.id, scope.elections)).order_by(E.id)
        ).all()
        keys = {key for e in chosen for key in covering_keys(e.type, e.area)}
        councils = _covered_councils(conn, keys) if keys else {}
        by_area = _by_area(conn, councils, keys)
        wanted |= _windows_of(chosen, councils, by_area, extra)
    if scope.councils:
        councils = _council_rows(conn, scope.councils)
        by_area = _by_area(conn, councils)
        areas = set(by_area)
        candidates = [
            e
            for e in conn.execute(sa.select(election_t).where(alive).order_by(E.id))
            if areas.intersection(covering_keys(e.type, e.area))
        ]
        wanted |= _windows_of(candidates, councils, by_area, extra)
    return dict(sorted(wanted.items(), key=lambda item: (item[0][1], item[0][0])))


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
# Up to this many ids go in an IN list; more, and the whole table is read and filtered.
_FEW = 2000


def _existing(conn: Connection, scope: Scope | None) -> dict[tuple[int, int], Any]:
    query = sa.select(window_t).order_by(W.id)
    if scope is not None:
        if len(scope.elections) + len(scope.councils) > _FEW:
            return {
                (row.council_id, row.election_pk): row
                for row in conn.execute(query)
                if row.election_pk in scope.elections or row.council_id in scope.councils
            }
        query = query.where(
            sa.or_(
                among(W.election_pk, scope.elections),
                among(W.council_id, scope.councils),
            )
        )
    return {(row.council_id, row.election_pk): row for row in conn.execute(query)}


def recompute_windows(
    conn: Connection, now: datetime, scope: Scope | None = None, *, why: str = ""
) -> WindowChanges:
    """Bring the window table in step with the register and elections (diff, not rebuild,
    so that window ids stay stable). With `scope` (what the write changed) only its
    windows are recomputed; without it every window is, `why` saying why. A store whose
    windows were computed by other rules or holiday data (RULES_FINGERPRINT_KEY) has
    every window recomputed whatever the scope.

    `changed_at` moves to `now` on a window whose values change, and on every window
    that overlapped one removed: so a restricted period's last change can be read from
    its windows (the exported feeds need no writes)."""
    fingerprint = rules_fingerprint()
    stored = conn.execute(
        sa.select(meta_t.c.value).where(meta_t.c.key == RULES_FINGERPRINT_KEY)
    ).scalar()
    if scope is not None and stored != fingerprint:
        scope = None
        why = f"the windows were computed by {stored or 'an earlier purdah'}, this is {fingerprint}"
    wanted = desired_windows(conn, scope)
    existing = _existing(conn, scope)
    gone = [row for key, row in existing.items() if key not in wanted]
    new = [values | {"changed_at": now} for key, values in wanted.items() if key not in existing]
    changed = [
        {"wid": existing[key].id, **values}
        for key, values in wanted.items()
        if key in existing and any(getattr(existing[key], f) != values[f] for f in _COMPARED)
    ]
    if gone:
        remember_removed(conn, gone, now)
        conn.execute(sa.delete(window_t).where(among(W.id, [row.id for row in gone])))
        conn.execute(
            sa.update(window_t)
            .where(
                W.council_id == sa.bindparam("cid"),
                W.start <= sa.bindparam("gone_end"),
                W.end >= sa.bindparam("gone_start"),
            )
            .values(changed_at=now),
            [{"cid": row.council_id, "gone_end": row.end, "gone_start": row.start} for row in gone],
        )
    if new:
        forget_removed(conn, new)
        _insert(conn, new)
    if changed:
        conn.execute(
            sa.update(window_t)
            .where(W.id == sa.bindparam("wid"))
            .values({**{f: sa.bindparam(f) for f in _COMPARED}, "changed_at": now}),
            [{k: v for k, v in row.items() if k in (*_COMPARED, "wid")} for row in changed],
        )
    if scope is None and stored != fingerprint:
        if stored is None:
            conn.execute(sa.insert(meta_t).values(key=RULES_FINGERPRINT_KEY, value=fingerprint))
        else:
            conn.execute(
                sa.update(meta_t)
                .where(meta_t.c.key == RULES_FINGERPRINT_KEY)
                .values(value=fingerprint)
            )
    outbox.record_window_changes(conn, now, existing, new, changed, gone)  # same transaction
    full = (why or "asked for") if scope is None else None
    changes = WindowChanges(len(new), len(changed), len(gone), full)
    if full:
        log.info("windows: %s", changes.describe())
    return changes


def _insert(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert windows with one plain executemany: through SQLAlchemy's per-parameter
    processing, the rows of a UK-wide poll took most of the write. Values are stored as
    SQLAlchemy stores them (instants as UTC, SQLite dates as ISO text)."""
    columns = [c.name for c in window_t.columns if c.name != "id"]
    instant = db_instant(conn.dialect.name)
    sqlite = conn.dialect.name == "sqlite"

    def value(v: Any) -> Any:
        if isinstance(v, datetime):
            return instant(v)
        if sqlite and isinstance(v, date):
            return v.isoformat()
        return v

    marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    quoted = ", ".join(f'"{c}"' for c in columns)
    conn.exec_driver_sql(
        f'INSERT INTO "window" ({quoted}) VALUES ({", ".join([marker] * len(columns))})',
        [tuple(value(row[c]) for c in columns) for row in rows],
    )


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
    elections = {row.id: row for row in conn.execute(sa.select(election_t).where(among(E.id, pks)))}
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
    pks = sorted({w["election_pk"] for w in windows})
    ids = dict(conn.execute(sa.select(E.id, E.election_id).where(among(E.id, pks))).all())
    kept = conn.execute(
        sa.select(R.id, R.council_id, R.election_id).where(
            among(R.election_id, sorted(ids.values()))
        )
    ).all()
    back = {(w["council_id"], ids[w["election_pk"]]) for w in windows}
    stale = [row.id for row in kept if (row.council_id, row.election_id) in back]
    if stale:
        conn.execute(sa.delete(removed_window_t).where(among(R.id, stale)))


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
