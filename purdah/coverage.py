"""Which elections cover which council (RULES.md section 1). Pure.

A council is covered by an election held for any area it lies within: its own
slug, each area the clerk listed with --within (district, county, police area,
combined authority ...), its nation, and the UK. A council's restricted time is
the union of the windows of every election that covers it.
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
