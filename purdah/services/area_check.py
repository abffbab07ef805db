"""Every area a clerk names, checked against the known ones, with "did you mean".

Known areas are the shipped register's keys and aliases (purdah.sources.areas, with the
clerk's imported parish lookup over it), the slugs of registered councils, the areas
they were registered within, and the areas of recorded elections (a parliamentary
constituency is known once its by-election is). Below both services.register (which
checks a council's --within areas) and services.areas (which adds councils from the
register through services.register), so that neither imports the other both ways.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from purdah.choices import COUNCIL_NATIONS
from purdah.coverage import UK_AREA, normalise_area
from purdah.errors import InputError
from purdah.models import council_area_t, council_t, election_t, parish_lookup_t
from purdah.queries import among
from purdah.services.area_find import _overlaid
from purdah.sources.areas import AreaRegister

C = council_t.c
A = council_area_t.c
_NATION_KEYS = (*(n.lower() for n in COUNCIL_NATIONS), UK_AREA)


def register_for(conn: Connection) -> AreaRegister:
    """The shipped register, with the clerk's imported parish lookup over it if any."""
    rows = conn.execute(
        sa.select(
            parish_lookup_t.c.gss,
            parish_lookup_t.c.name,
            parish_lookup_t.c.district,
            parish_lookup_t.c.vintage,
        )
    ).all()
    return _overlaid([tuple(r) for r in rows])


# ---- known areas and "did you mean" -------------------------------------------------


def _registered_areas(conn: Connection) -> set[str]:
    known = set(conn.execute(sa.select(C.slug)).scalars())
    known |= set(conn.execute(sa.select(A.area).distinct()).scalars())
    known |= set(conn.execute(sa.select(election_t.c.area).distinct()).scalars())
    return known


def _registered_among(conn: Connection, values: Iterable[str]) -> set[str]:
    """Which of `values` are registered areas (as _registered_areas, read for them only)."""
    wanted = sorted(set(values))
    E = election_t.c
    known = set(conn.execute(sa.select(C.slug).where(among(C.slug, wanted))).scalars())
    known |= set(conn.execute(sa.select(A.area).where(among(A.area, wanted)).distinct()).scalars())
    known |= set(conn.execute(sa.select(E.area).where(among(E.area, wanted)).distinct()).scalars())
    return known


@dataclass(frozen=True)
class Known:
    """What a batch of checks compares against, read once."""

    register: AreaRegister
    registered: frozenset[str]
    # Every registered area (else only those among the values checked: suggestions for
    # an unknown one then read the rest).
    complete: bool = True


def known_areas(conn: Connection, also: Iterable[str] = ()) -> Known:
    registered = _registered_areas(conn) | set(also) | set(_NATION_KEYS)
    return Known(register_for(conn), frozenset(registered))


def check_areas(
    conn: Connection,
    areas: Iterable[str],
    what: str,
    *,
    also: Iterable[str] = (),
    known: Known | None = None,
    allow_new: bool = False,
) -> list[str]:
    """Each area as its key, or InputError naming the unknown ones with suggestions.
    An alias (a gov.uk slug, a GSS or register code) becomes the area's key; an abolished
    council is refused with its successor's key. `allow_new` (the clerk's explicit
    --new-area) accepts an unknown slug as it is: an authority newer than the register."""
    areas = list(areas)
    if known is None:  # one command's few areas: look up only those
        values = [a.strip().lower() for a in areas]
        among = _registered_among(conn, values) | set(also) | set(_NATION_KEYS)
        known = Known(register_for(conn), frozenset(among), complete=False)
    register, registered = known.register, known.registered
    out: list[str] = []
    errors: list[str] = []
    for raw in areas:
        value = normalise_area(raw, what) if re.match(r"^[A-Za-z]\d{8}$", raw) is None else raw
        if value in registered:
            out.append(value)
            continue
        area = register.lookup(value)
        if area is not None and area.ended:
            now = register.current(area)
            errors.append(
                f"{what} {raw!r}: {area.name} was abolished on {area.ended}; its area is now "
                f"{now.key or now.name} ({now.name})"
            )
            continue
        if area is not None and area.key:
            out.append(area.key)
            continue
        if area is not None:  # a parish: not an area elections are held for
            errors.append(
                f"{what} {raw!r} is the {area.kind} {area.name}, not an area elections are "
                "held for: register it with 'purdah council add --gss "
                f"{area.gss}', or name its district"
            )
            continue
        if allow_new:
            out.append(value)
            continue
        everything = registered if known.complete else _registered_areas(conn) | registered
        close = register.suggest(value, everything)
        hint = f"did you mean {' or '.join(close)}?" if close else "see 'purdah council find'"
        errors.append(f"unknown {what} {raw!r}: {hint}")
    if errors:
        raise InputError("; ".join(errors))
    return list(dict.fromkeys(out))


def check_area(conn: Connection, area: str, what: str, *, allow_new: bool = False) -> str:
    return check_areas(conn, [area], what, allow_new=allow_new)[0]


def known_area(conn: Connection, area: str) -> str | None:
    """The key `area` stands for if it is known, else None (for warnings, not refusals)."""
    try:
        return check_area(conn, area, "area")
    except InputError:
        return None


def suggest_for(conn: Connection, area: str) -> list[str]:
    return register_for(conn).suggest(area, _registered_areas(conn))
