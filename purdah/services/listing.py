"""The store's listings (`council list`, `windows`, `history`) as plain SQL through
`Store.query`: on SQLite they run on the standard library's sqlite3, so these commands
start without importing SQLAlchemy or SQLModel. Rows are what the SQLModel tables hold,
converted as the tables' column types would (aware UTC instants, dates, booleans).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from purdah.errors import NotFound
from purdah.refs import split_ref
from purdah.store import Store, as_instant


@dataclass(frozen=True)
class CouncilRow:
    slug: str
    name: str
    nation: str
    kind: str
    within: tuple[str, ...]
    start_policy: str
    end_policy: str
    scope: str
    councillors: int = 0


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


@dataclass(frozen=True)
class HistoryRow:
    councillor: str
    flag: str
    old: bool
    new: bool
    at: datetime
    recorded_at: datetime
    cause: str
    actor: str
    id: int = 0  # the audit row's id: with `at`, the order (and a page's cursor)


_AREAS_SQL = "SELECT council_id, area FROM council_area ORDER BY area"
_COUNTS_SQL = "SELECT council_id, count(*) FROM councillor GROUP BY council_id"
_COUNCILS_SQL = (
    "SELECT id, slug, name, nation, kind, start_policy, end_policy, scope FROM council "
    "ORDER BY slug"
)


def list_councils(store: Store) -> list[CouncilRow]:
    areas: dict[int, list[str]] = {}
    for cid, area in store.query(_AREAS_SQL, {}):
        areas.setdefault(cid, []).append(area)
    counts = dict(store.query(_COUNTS_SQL, {}))
    return [
        CouncilRow(
            slug,
            name,
            nation,
            kind,
            tuple(areas.get(cid, ())),
            start,
            end,
            scope,
            counts.get(cid, 0),
        )
        for cid, slug, name, nation, kind, start, end, scope in store.query(_COUNCILS_SQL, {})
    ]


# "window" and "end" are keywords: quoted.
_WINDOWS_SQL = """
SELECT c.slug, e.election_id, e.status, w.start, w."end", w.start_basis, w.end_basis,
       w.actual_notice, w.rule, w.ward, w.notes, w.run_up_start, w.last_day, w.run_up_note
FROM "window" w
JOIN election e ON w.election_pk = e.id
JOIN council c ON w.council_id = c.id
{where}
ORDER BY c.slug, w.start, e.election_id
"""
_COUNCIL_ID_SQL = "SELECT id FROM council WHERE slug = :slug"


def council_id(store: Store, slug: str) -> int:
    found = store.query(_COUNCIL_ID_SQL, {"slug": slug.strip().lower()})
    if not found:
        raise NotFound(f"no council {slug!r} in the register: see 'purdah council list'")
    return int(found[0][0])


def list_windows(store: Store, council: str | None = None) -> list[WindowRow]:
    if council:
        params = {"cid": council_id(store, council)}
        rows = store.query(_WINDOWS_SQL.format(where="WHERE w.council_id = :cid"), params)
    else:
        rows = store.query(_WINDOWS_SQL.format(where=""), {})
    # Councils polled together share their windows' instants: each converted once.
    instants: dict[Any, datetime] = {}

    def at(value: Any) -> datetime:
        found = instants.get(value)
        if found is None:
            found = instants[value] = as_instant(value)
        return found

    return [
        WindowRow(
            slug,
            election_id,
            status,
            at(start),
            at(end),
            start_basis,
            end_basis,
            bool(actual_notice),
            rule,
            ward,
            notes,
            at(run_up_start) if run_up_start is not None else None,
            _day(last_day),
            run_up_note,
        )
        for (
            slug,
            election_id,
            status,
            start,
            end,
            start_basis,
            end_basis,
            actual_notice,
            rule,
            ward,
            notes,
            run_up_start,
            last_day,
            run_up_note,
        ) in rows
    ]


_HISTORY_SQL = """
SELECT c.slug, p.slug, f.flag, f.old, f.new, f.at, f.recorded_at, f.cause, f.actor, f.id
FROM flag_change f
JOIN councillor p ON f.councillor_id = p.id
JOIN council c ON p.council_id = c.id
{where}
ORDER BY f.at {order}, f.id {order}
{limit}
"""
_COUNCILLOR_SQL = """
SELECT p.id FROM councillor p JOIN council c ON p.council_id = c.id
WHERE c.slug = :council AND p.slug = :slug
"""


def history(store: Store, ref: str | None = None, limit: int | None = None) -> list[HistoryRow]:
    """The audit in the order the changes took effect; with `limit`, only the last ones."""
    where, params = "", {}
    if ref:
        council, slug = split_ref(ref)
        where, params = (
            "WHERE c.slug = :council AND p.slug = :slug",
            {"council": council, "slug": slug},
        )
    last = limit is not None and limit > 0
    rows = store.query(
        _HISTORY_SQL.format(
            where=where, order="DESC" if last else "", limit="LIMIT :limit" if last else ""
        ),
        params | {"limit": limit} if last else params,
    )
    if last:
        rows.reverse()
    elif limit:  # a negative limit: as Python slices it
        rows = rows[-limit:]
    if ref and not rows and not store.query(_COUNCILLOR_SQL, params):
        raise NotFound(f"no councillor {ref!r} in the register: see 'purdah councillor list'")
    return [
        HistoryRow(
            f"{council_slug}/{slug}",
            flag,
            bool(old),
            bool(new),
            as_instant(at),
            as_instant(recorded_at),
            cause,
            actor,
            audit_id,
        )
        for council_slug, slug, flag, old, new, at, recorded_at, cause, actor, audit_id in rows
    ]


def _day(value: object) -> date | None:
    """A date read with plain SQL: SQLite text or a date."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))
