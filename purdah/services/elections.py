"""Elections entered by the clerk (importers use the same functions): add, list, cancel,
move, set the actual notice date. Every change recomputes the windows and reconciles in
the same transaction, so the flags are right the moment the command returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from purdah.coverage import default_area
from purdah.errors import InputError, NotFound
from purdah.ids import Nation, parse_election_id
from purdah.models import election_t, non_working_day_t
from purdah.polls import check_poll_can_exist
from purdah.services.areas import check_area, nation_of, place_election_area
from purdah.services.reconcile import ReconcileResult, reconcile_in
from purdah.services.windows import WindowChanges, election_timetable, extra_days, recompute_windows
from purdah.store import Store
from purdah.timetable import compute_timetable

E = election_t.c


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
    )


def refresh_in(conn: Connection, now: datetime) -> tuple[WindowChanges, ReconcileResult]:
    """Recompute windows and reconcile inside an open write transaction."""
    return recompute_windows(conn, now), reconcile_in(conn, now)


def add_election(
    store: Store,
    election_id: str,
    *,
    area: str | None = None,
    nation: str | None = None,
    notice: date | None = None,
    source: str = "manual",
    referendum: str | None = None,
    new_area: bool = False,
    now: datetime,
) -> Refreshed:
    parsed = parse_election_id(election_id)
    with store.write() as conn:
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
        if notice is not None and notice >= parsed.poll_date:
            raise InputError(f"the notice date {notice} is not before the poll {parsed.poll_date}")
        conn.execute(
            sa.insert(election_t).values(
                election_id=parsed.text,
                type=parsed.type,
                area=chosen,
                nation=tt.nation.value if tt.nation is not Nation.UK else None,
                poll_date=parsed.poll_date,
                notice=notice,
                referendum=referendum,
                status="scheduled",
                source=source,
                created_at=now,
                updated_at=now,
            )
        )
        windows, result = refresh_in(conn, now)
        row = conn.execute(sa.select(election_t).where(E.election_id == parsed.text)).one()
    return Refreshed(_row(row), windows, result, tt.warnings)


def list_elections(store: Store) -> list[ElectionRow]:
    with store.read() as conn:
        rows = conn.execute(sa.select(election_t).order_by(E.poll_date, E.election_id))
        return [_row(r) for r in rows]


def _change(
    store: Store, election_id: str, now: datetime, make: Callable[[Connection, Any], dict[str, Any]]
) -> Refreshed:
    with store.write() as conn:
        row = conn.execute(
            sa.select(election_t).where(E.election_id == election_id.strip())
        ).first()
        if row is None:
            raise NotFound(f"no election {election_id!r} recorded: see 'purdah election list'")
        values = make(conn, row)
        conn.execute(sa.update(election_t).where(E.id == row.id).values(updated_at=now, **values))
        windows, result = refresh_in(conn, now)
        row = conn.execute(sa.select(election_t).where(E.id == row.id)).one()
    return Refreshed(_row(row), windows, result)


def cancel_election(store: Store, election_id: str, *, now: datetime) -> Refreshed:
    """The poll is cancelled (countermanded, or the clerk ends the period): its window ends
    now; flags come back only where no other window covers the council."""

    def make(conn: Connection, row: Any) -> dict[str, Any]:
        if row.status == "cancelled":
            raise InputError(f"election {row.election_id} is already cancelled")
        return {"status": "cancelled", "cancelled_at": now}

    return _change(store, election_id, now, make)


def set_notice(store: Store, election_id: str, notice: date, *, now: datetime) -> Refreshed:
    def make(conn: Connection, row: Any) -> dict[str, Any]:
        if notice >= row.poll_date:
            raise InputError(f"the notice date {notice} is not before the poll {row.poll_date}")
        return {"notice": notice}

    return _change(store, election_id, now, make)


def move_election(store: Store, election_id: str, poll_date: date, *, now: datetime) -> Refreshed:
    """The poll moved (postponed, or a new poll after a candidate's death)."""

    def make(conn: Connection, row: Any) -> dict[str, Any]:
        moved = election_timetable(
            row.election_id, row.nation, poll_date, extra_days(conn), row.referendum
        )
        check_poll_can_exist(moved)  # the new day must be one a poll can be held on
        return {
            "poll_date": poll_date,
            "status": "moved",
            "original_poll_date": row.original_poll_date or row.poll_date,
        }

    return _change(store, election_id, now, make)


def add_non_working_day(store: Store, day: date, reason: str, *, now: datetime) -> Refreshed:
    """A day of mourning or thanksgiving: no count may use it; every affected window moves."""
    with store.write() as conn:
        if conn.execute(
            sa.select(non_working_day_t.c.day).where(non_working_day_t.c.day == day)
        ).first():
            raise InputError(f"{day} is already recorded as a non-working day")
        conn.execute(sa.insert(non_working_day_t).values(day=day, reason=reason))
        windows, result = refresh_in(conn, now)
    return Refreshed(None, windows, result)


def set_referendum(store: Store, election_id: str, kind: str, *, now: datetime) -> Refreshed:
    """Say which kind of referendum a ref.* poll is: its rule, and so its window, follow."""

    def make(conn: Connection, row: Any) -> dict[str, Any]:
        election_timetable(row.election_id, row.nation, row.poll_date, extra_days(conn), kind)
        return {"referendum": kind}

    return _change(store, election_id, now, make)
