"""Elections entered by the clerk (importers use the same functions): add, list, cancel,
move, record the notice date (actual, or planned while it is in the future) and a general
election's announcement. Every change recomputes the windows and reconciles in the same
transaction, so the flags are right the moment the command returns; a flag that switches
is audited at that moment, never backdated."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from purdah.choices import ElectionStatus
from purdah.clock import LONDON
from purdah.coverage import default_area
from purdah.errors import InputError, NotFound
from purdah.ids import Nation, parse_election_id
from purdah.models import election_t, meta_t, non_working_day_t
from purdah.polls import check_poll_can_exist
from purdah.services.area_check import check_area
from purdah.services.areas import nation_of, place_election_area
from purdah.services.audit import ClerkChange, record
from purdah.services.reconcile import ReconcileResult, reconcile_in
from purdah.services.windows import (
    RULES_FINGERPRINT_KEY,
    Scope,
    WindowChanges,
    election_timetable,
    extra_days,
    recompute_windows,
    rules_fingerprint,
)
from purdah.store import Store
from purdah.timetable import Timetable, compute_timetable, is_general_election, long_day

E = election_t.c
# An announcement further ahead of the poll than this is refused as a likely typing error
# (the general elections of 2017, 2019 and 2024 were announced six to seven weeks ahead).
MAX_ANNOUNCEMENT_DAYS = 183


@dataclass(frozen=True)
class ElectionRow:
    election_id: str
    type: str
    area: str
    nation: str | None
    poll_date: date
    original_poll_date: date | None
    notice: date | None
    status: str
    source: str
    referendum: str | None = None
    notice_source: str | None = None  # "clerk", or the feed the notice date came from
    announced_at: datetime | None = None

    def notice_planned(self, now: datetime) -> bool:
        """The notice date is recorded and still in the future (planned until it passes)."""
        return self.notice is not None and self.notice > now.astimezone(LONDON).date()


@dataclass(frozen=True)
class Refreshed:
    """What a change to the elections did: the election, the windows, the flags."""

    election: ElectionRow | None
    windows: WindowChanges
    reconcile: ReconcileResult
    warnings: tuple[str, ...] = ()  # e.g. the referendum kind purdah assumed


def _row(r: Any) -> ElectionRow:
    return ElectionRow(
        r.election_id,
        r.type,
        r.area,
        r.nation,
        r.poll_date,
        r.original_poll_date,
        r.notice,
        r.status,
        r.source,
        r.referendum,
        r.notice_source,
        r.announced_at,
    )


def refresh_in(
    conn: Connection, now: datetime, scope: Scope | None = None, *, why: str = ""
) -> tuple[WindowChanges, ReconcileResult]:
    """Recompute the windows of `scope` (what the write changed; None: every window, `why`
    saying why) and reconcile, inside an open write transaction."""
    return recompute_windows(conn, now, scope, why=why), reconcile_in(conn, now)


def recompute_every_window(store: Store) -> tuple[WindowChanges, ReconcileResult]:
    """Recompute every window from the register and elections, not only those a change
    covers, and reconcile (`purdah windows --recompute`). On a store in step it changes
    nothing."""
    with store.write() as (conn, now):
        return refresh_in(conn, now, why="asked for (purdah windows --recompute)")


def recompute_if_stale(store: Store) -> tuple[WindowChanges, ReconcileResult] | None:
    """`purdah init` on a store whose windows were computed by another version of purdah's
    rules or holiday data: every window is recomputed, and flags reconciled. None when
    they are in step, or when there is nothing to compute (the rules are then recorded)."""
    with store.write() as (conn, now):
        stored = conn.execute(
            sa.select(meta_t.c.value).where(meta_t.c.key == RULES_FINGERPRINT_KEY)
        ).scalar()
        current = rules_fingerprint()
        if stored == current:
            return None
        empty = conn.execute(sa.select(E.id).limit(1)).first() is None
        why = (
            f"purdah init: the windows were computed by {stored or 'an earlier purdah'}, "
            f"this is {current}"
        )
        changes = recompute_windows(conn, now, why=why)
        if empty:
            return None
        return changes, reconcile_in(conn, now, actor="init")


def add_election(
    store: Store,
    election_id: str,
    *,
    area: str | None = None,
    nation: str | None = None,
    notice: date | None = None,
    announced_at: datetime | None = None,
    source: str = "manual",
    referendum: str | None = None,
    new_area: bool = False,
) -> Refreshed:
    """Record an election. `notice` may be a planned date (in the future); `announced_at`
    is a UK general election's announcement (the Prime Minister's statement)."""
    parsed = parse_election_id(election_id)
    with store.write() as (conn, now):
        chosen = (
            check_area(conn, area, "--area", allow_new=new_area)
            if area
            else default_area(parsed, Nation.UK)
        )
        if chosen is not None and not area:
            chosen = place_election_area(
                conn, chosen, parsed.type, parsed.by_election, allow_new=new_area
            )
        if nation is None and parsed.type in ("local", "ref"):
            nation = nation_of(conn, chosen)
        tt = compute_timetable(
            parsed, Nation(nation) if nation else None, extra_days(conn), referendum
        )
        check_poll_can_exist(tt)  # a poll that cannot be held is refused, with the law
        if chosen is None:
            raise InputError(
                f"{parsed.text} does not name its area: give --area with the code of the area "
                "the poll is held in (e.g. --area nottinghamshire)"
            )
        if conn.execute(sa.select(E.id).where(E.election_id == parsed.text)).first():
            raise InputError(
                f"election {parsed.text} is already recorded: see 'purdah election list'"
            )
        if notice is not None:
            check_notice(tt, notice, now)
        if announced_at is not None:
            check_announcement(tt, announced_at, now)
        conn.execute(
            sa.insert(election_t).values(
                election_id=parsed.text,
                type=parsed.type,
                area=chosen,
                nation=tt.nation.value if tt.nation is not Nation.UK else None,
                poll_date=parsed.poll_date,
                notice=notice,
                referendum=referendum,
                notice_source=("clerk" if source == "manual" else source) if notice else None,
                notice_recorded_at=now if notice else None,
                announced_at=announced_at,
                status=ElectionStatus.SCHEDULED.value,
                source=source,
                created_at=now,
                updated_at=now,
            )
        )
        row = conn.execute(sa.select(election_t).where(E.election_id == parsed.text)).one()
        windows, result = refresh_in(conn, now, Scope.of(elections=[row.id]))
    return Refreshed(_row(row), windows, result, tt.warnings)


def list_elections(store: Store) -> list[ElectionRow]:
    with store.read() as conn:
        rows = conn.execute(sa.select(election_t).order_by(E.poll_date, E.election_id))
        return [_row(r) for r in rows]


def _change(
    store: Store, election_id: str, make: Callable[[Connection, Any, datetime], dict[str, Any]]
) -> Refreshed:
    with store.write() as (conn, now):
        row = conn.execute(
            sa.select(election_t).where(E.election_id == election_id.strip())
        ).first()
        if row is None:
            raise NotFound(f"no election {election_id!r} recorded: see 'purdah election list'")
        values = make(conn, row, now)
        conn.execute(sa.update(election_t).where(E.id == row.id).values(updated_at=now, **values))
        windows, result = refresh_in(conn, now, Scope.of(elections=[row.id]))
        row = conn.execute(sa.select(election_t).where(E.id == row.id)).one()
    return Refreshed(_row(row), windows, result)


def cancel_election(store: Store, election_id: str) -> Refreshed:
    """The poll is cancelled (countermanded, or the clerk ends the period): its window ends
    now; flags come back only where no other window covers the council."""

    def make(conn: Connection, row: Any, now: datetime) -> dict[str, Any]:
        if row.status == ElectionStatus.CANCELLED:
            raise InputError(f"election {row.election_id} is already cancelled")
        return {
            "status": ElectionStatus.CANCELLED.value,
            "cancelled_at": now,
            "clerk_held": "cancelled",
        }

    return _change(store, election_id, make)


def check_notice(tt: Timetable, notice: date, now: datetime) -> None:
    """Refuse a notice date the law rules out: one not before the poll, and a planned one
    (in the future) after the statutory last day, before the statutory earliest day, or
    before dissolution. A past date out of bounds is kept as a record: the window then
    starts on the conservative side and says why (purdah.timetable.window)."""
    election = tt.election.text
    if notice >= tt.poll_date:
        raise InputError(
            f"the notice date {notice} is not before the poll {tt.poll_date} of {election}: "
            "check the date"
        )
    if notice <= now.astimezone(LONDON).date():
        return
    planned = f"a planned notice date of {long_day(notice)}"
    sources = "; ".join(tt.rule.sources)
    if tt.notice_latest is not None and notice > tt.notice_latest:
        raise InputError(
            f"{planned} is after the statutory last day for the notice of election for "
            f"{election}, {long_day(tt.notice_latest)} ({tt.rule.latest_notice} working "
            f"days before the poll; {sources}): check the date with the returning officer; "
            "nothing was changed"
        )
    if tt.notice_earliest is not None and notice < tt.notice_earliest:
        raise InputError(
            f"{planned} is before the statutory earliest day for the notice of election "
            f"for {election}, {long_day(tt.notice_earliest)} ({sources}): check the date "
            "with the returning officer; nothing was changed"
        )
    if is_general_election(tt) and tt.dissolution is not None and notice < tt.dissolution:
        raise InputError(
            f"{planned} is before dissolution on {long_day(tt.dissolution)}: the notice of "
            f"election for {election} follows the writ; nothing was changed"
        )


def check_announcement(tt: Timetable, announced_at: datetime, now: datetime) -> None:
    election = tt.election.text
    if not is_general_election(tt):
        raise InputError(
            f"an announcement is recorded only for a UK general election (parl.DATE), not "
            f"{election}: record its notice date instead (purdah election set-notice "
            f"{election} DATE)"
        )
    if announced_at.tzinfo is None:
        raise InputError(f"the announcement time {announced_at.isoformat()} has no time zone")
    if announced_at > now:
        raise InputError(
            f"the announcement time {announced_at.isoformat()} is in the future: record the "
            "announcement once it has been made"
        )
    said = announced_at.astimezone(LONDON).date()
    if said >= tt.poll_date:
        raise InputError(
            f"the announcement {announced_at.isoformat()} is not before the poll "
            f"{tt.poll_date} of {election}: check the date"
        )
    if (tt.poll_date - said).days > MAX_ANNOUNCEMENT_DAYS:
        raise InputError(
            f"the announcement {announced_at.isoformat()} is {(tt.poll_date - said).days} "
            f"days before the poll {tt.poll_date} of {election}; purdah takes one at most "
            f"{MAX_ANNOUNCEMENT_DAYS} days ahead (2017, 2019 and 2024 were announced six to "
            "seven weeks ahead): check the date"
        )


def record_feed_notice(
    conn: Connection, row: Any, day: date, source: str, now: datetime
) -> str | None:
    """A notice date that a feed gives (an import, a feed refresh, an EveryElection sync)
    for the stored election `row`: it is set unless the clerk recorded a date, which
    stands (it may be a planned date the feed does not know). Returns the warning to
    report when the clerk's date is kept, else None. The caller recomputes the windows."""
    if row.notice == day:
        return None
    if row.notice is not None and row.notice_source == "clerk":
        return (
            f"kept the notice date {row.notice} the clerk recorded for {row.election_id}; "
            f"the calendar says {day} (purdah election set-notice {row.election_id} {day} "
            "to take it)"
        )
    conn.execute(
        sa.update(election_t)
        .where(E.id == row.id)
        .values(notice=day, notice_source=source, notice_recorded_at=now, updated_at=now)
    )
    return None


def _timetable_of(conn: Connection, row: Any) -> Timetable:
    return election_timetable(
        row.election_id, row.nation, row.poll_date, extra_days(conn), row.referendum
    )


def set_notice(store: Store, election_id: str, notice: date) -> Refreshed:
    """The clerk records the notice of election date: the actual one, or a planned one
    (in the future; planned until it passes). Import and feed refreshes keep it."""

    def make(conn: Connection, row: Any, now: datetime) -> dict[str, Any]:
        check_notice(_timetable_of(conn, row), notice, now)
        return {"notice": notice, "notice_source": "clerk", "notice_recorded_at": now}

    return _change(store, election_id, make)


def announce_election(store: Store, election_id: str, announced_at: datetime) -> Refreshed:
    """Record a general election's announcement: under the run-up policy its windows
    start there when it comes before dissolution."""

    def make(conn: Connection, row: Any, now: datetime) -> dict[str, Any]:
        check_announcement(_timetable_of(conn, row), announced_at, now)
        return {"announced_at": announced_at}

    return _change(store, election_id, make)


def move_election(store: Store, election_id: str, poll_date: date) -> Refreshed:
    """The poll moved (postponed, or a new poll after a candidate's death)."""

    def make(conn: Connection, row: Any, now: datetime) -> dict[str, Any]:
        moved = election_timetable(
            row.election_id, row.nation, poll_date, extra_days(conn), row.referendum
        )
        check_poll_can_exist(moved)  # the new day must be one a poll can be held on
        return {
            "poll_date": poll_date,
            "status": ElectionStatus.MOVED.value,
            "original_poll_date": row.original_poll_date or row.poll_date,
            "clerk_held": "moved",
        }

    return _change(store, election_id, make)


# Why a non-working day recomputes every window: any count may run across the day.
_EVERY_COUNT = "a non-working day can move any window's working-day count"


def add_non_working_day(store: Store, day: date, reason: str) -> Refreshed:
    """A day of mourning or thanksgiving: no count may use it; every affected window moves."""
    with store.write() as (conn, now):
        if conn.execute(
            sa.select(non_working_day_t.c.day).where(non_working_day_t.c.day == day)
        ).first():
            raise InputError(f"{day} is already recorded as a non-working day")
        conn.execute(sa.insert(non_working_day_t).values(day=day, reason=reason))
        windows, result = refresh_in(conn, now, why=_EVERY_COUNT)
    return Refreshed(None, windows, result)


def set_referendum(store: Store, election_id: str, kind: str) -> Refreshed:
    """Say which kind of referendum a ref.* poll is: its rule, and so its window, follow."""

    def make(conn: Connection, row: Any, now: datetime) -> dict[str, Any]:
        election_timetable(row.election_id, row.nation, row.poll_date, extra_days(conn), kind)
        return {"referendum": kind}

    return _change(store, election_id, make)


@dataclass(frozen=True)
class Removed:
    """What a removal did: the audit row, the windows, the flags."""

    subject: str
    windows: WindowChanges
    reconcile: ReconcileResult
    audit: ClerkChange


def remove_election(store: Store, election_id: str, *, actor: str) -> Removed:
    """An election entered in error (not a poll that was cancelled): it and its windows go,
    flags are recomputed, and the removal is audited with what the election was.

    One that came from a calendar is refused: the next import would record it again."""
    with store.write() as (conn, now):
        row = conn.execute(
            sa.select(election_t).where(E.election_id == election_id.strip())
        ).first()
        if row is None:
            raise NotFound(f"no election {election_id!r} recorded: see 'purdah election list'")
        if row.source != "manual":
            raise InputError(
                f"election {row.election_id} came from {row.source}: the next import would "
                "record it again; remove it from that calendar (the import then withdraws "
                f"it), or 'purdah election cancel {row.election_id}' if the poll was cancelled"
            )
        # Withdrawn first, so that recomputing removes its windows as any removal does
        # (marking the windows that overlapped them as changed), then the row itself.
        conn.execute(
            sa.update(election_t)
            .where(E.id == row.id)
            .values(status=ElectionStatus.WITHDRAWN.value)
        )
        windows = recompute_windows(conn, now, Scope.of(elections=[row.id]))
        conn.execute(sa.delete(election_t).where(E.id == row.id))
        result = reconcile_in(conn, now)
        detail = (
            f"entered in error: {row.type} poll on {row.poll_date} for {row.area}"
            f" (status {row.status}, notice {row.notice or 'not recorded'})"
        )
        audit = record(conn, now, actor, "election remove", row.election_id, detail)
    return Removed(row.election_id, windows, result, audit)


def remove_non_working_day(store: Store, day: date, *, actor: str) -> Removed:
    """A non-working day recorded in error: every window that counted past it moves back."""
    nwd = non_working_day_t.c
    with store.write() as (conn, now):
        reason = conn.execute(sa.select(nwd.reason).where(nwd.day == day)).scalar()
        if reason is None:
            raise NotFound(f"{day} is not recorded as a non-working day: nothing was changed")
        conn.execute(sa.delete(non_working_day_t).where(nwd.day == day))
        windows, result = refresh_in(conn, now, why=_EVERY_COUNT)
        audit = record(
            conn, now, actor, "non-working-day remove", day.isoformat(), f"was: {reason}"
        )
    return Removed(day.isoformat(), windows, result, audit)
