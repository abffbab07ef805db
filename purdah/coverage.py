"""Which elections cover which council (RULES.md section 1). Pure.

A council is covered by an election held for any area it lies within: its own
slug, each area the clerk listed with --within (district, county, police area,
combined authority ...), its nation, and the UK. A council's restricted time is
the union of the windows of every election that covers it.

Police force areas registered from the shipped register are keyed `<force>-police`
(`nottinghamshire-police`), apart from the county of the same name, whose elections
are not the police area's: a PCC election `pcc.nottinghamshire.*` covers the councils
within `nottinghamshire-police`, and those within `nottinghamshire` as typed by hand
before the register existed. Where the elected mayor holds the police and crime
commissioner's functions there is no PCC election: the police area's polls are the
mayor's (`mayor_holds_police`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from purdah.errors import InputError
from purdah.ids import ElectionId, Nation

UK_AREA = "uk"
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")

# Elections whose id fixes the area when it names no organisation.
_WHOLE_AREA = {"sp": "sct", "senedd": "wls", "naw": "wls", "nia": "nir", "gla": "london"}


POLICE_SUFFIX = "-police"
# Democracy Club police area slug -> the mayoral area whose mayor holds the PCC
# functions (data/README.md): Greater Manchester since 2017, West Yorkshire since 2021,
# York and North Yorkshire and South Yorkshire since 2024; London's Mayor's Office for
# Policing and Crime for the Metropolitan Police area.
MAYOR_POLICE = {
    "greater-manchester": "greater-manchester-ca",
    "west-yorkshire": "west-yorkshire",
    "north-yorkshire": "york-and-north-yorkshire",
    "south-yorkshire": "south-yorkshire",
    "metropolitan": "london",
}


def police_key(slug: str) -> str:
    """The coverage key of a police force area, from its Democracy Club slug."""
    return slug if slug.endswith(POLICE_SUFFIX) else slug + POLICE_SUFFIX


def mayor_holds_police(area: str) -> str | None:
    """The mayoral area (a coverage key) whose mayor holds the police functions of police
    area `area` (its slug as in `pcc.<slug>.*`, or its key `<slug>-police`), else None.
    Where this is not None there is no PCC election: the area's polls are the mayor's."""
    slug = area.strip().lower().removesuffix(POLICE_SUFFIX)
    return MAYOR_POLICE.get(slug)


def covering_keys(election_type: str, area: str) -> tuple[str, ...]:
    """The council-area keys an election held for `area` covers."""
    if election_type == "pcc":
        return (area, police_key(area))
    return (area,)


def normalise_area(area: str, what: str = "area") -> str:
    """Areas are Democracy Club style slugs, compared case-insensitively."""
    value = area.strip().lower()
    if not _SLUG.match(value):
        raise InputError(
            f"{what} {area!r} is not a slug: use lower-case letters, digits and hyphens, "
            "e.g. nottinghamshire or south-yorkshire"
        )
    return value


def council_areas(slug: str, nation: str, within: Iterable[str]) -> frozenset[str]:
    """Every area code whose elections cover this council."""
    return frozenset({slug, nation.lower(), UK_AREA, *within})


def default_area(election: ElectionId, nation: Nation) -> str | None:
    """The area an election id names, or None when the clerk must say (--area)."""
    if election.type == "parl" and not election.by_election:
        return UK_AREA
    if election.type == "parl":
        return election.division
    if election.type == "mayor" and election.organisation == "london":
        return "london"
    if election.organisation:
        return election.organisation
    if election.type in _WHOLE_AREA:
        return _WHOLE_AREA[election.type]
    return None
