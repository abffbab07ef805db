"""The shipped area register: it is exactly what the build script makes from the copied
sources, and it carries the corrections the sources lack."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from purdah.coverage import MAYOR_POLICE, mayor_holds_police
from purdah.sources import build
from purdah.sources.areas import PRINCIPAL, shipped

ROOT = Path(__file__).parents[2]


def test_the_shipped_table_is_what_the_build_script_makes():
    shipped_bytes = (ROOT / "purdah" / "data" / "areas.csv.gz").read_bytes()
    built = build.build_table(ROOT / "data" / "sources")
    assert gzip.decompress(shipped_bytes) == gzip.decompress(built)
    assert shipped_bytes == built  # deterministic: no timestamp in the gzip header


def test_every_current_principal_council_has_its_chain():
    register = shipped()
    councils = [a for a in register.by_gss.values() if a.kind in PRINCIPAL and not a.ended]
    assert len(councils) == 21 + 175 + 117 + 36 + 32 + 1
    for council in councils:
        assert council.key and council.nation, council
        if council.nation in ("ENG", "WLS"):
            assert council.police, council  # police force areas cover England and Wales
        if council.kind == "district" and council.nation == "ENG":
            assert council.county, council  # every English district is in a county


def test_north_east_and_north_of_tyne_are_replaced_by_the_mayoral_authority():
    """SI 2024/402: both abolished on 7 May 2024; the seven councils form the new one."""
    register = shipped()
    nemca = register.by_gss["E47000014"]
    assert (nemca.key, nemca.name) == ("north-east", "North East Mayoral Combined Authority")
    for old in ("E47000010", "E47000011"):
        assert register.by_gss[old].ended == "2024-05-07"
        assert register.current(register.by_gss[old]) is nemca
    members = sorted(a.name for a in register.by_gss.values() if a.combined == "E47000014")
    assert members == [
        "Durham County Council",
        "Gateshead Metropolitan Borough Council",
        "Newcastle City Council",
        "North Tyneside Council",
        "Northumberland County Council",
        "South Tyneside Council",
        "Sunderland City Council",
    ]


def test_no_council_lies_in_an_abolished_combined_authority():
    register = shipped()
    for area in register.by_gss.values():
        if area.combined:
            assert not register.by_gss[area.combined].ended, area


def test_a_parish_of_an_abolished_district_lies_in_its_successor():
    register = shipped()
    ripon = register.by_gss["E04007409"]
    assert [a.key for a in register.chain(ripon)][:3] == [
        "north-yorkshire",
        "york-and-north-yorkshire",
        "north-yorkshire-police",
    ]


@pytest.mark.parametrize(
    ("force", "mayor"),
    [(gss, key) for gss, (key, _since) in build.MAYOR_POLICE.items()],
)
def test_the_build_and_coverage_agree_on_which_mayors_hold_police_functions(force, mayor):
    police = shipped().by_gss[force]
    assert mayor_holds_police(police.code) == mayor
    assert mayor_holds_police(police.key) == mayor
    assert shipped().by_key[mayor]  # the mayoral area is in the register


def test_only_those_mayors_hold_police_functions():
    assert len(MAYOR_POLICE) == len(build.MAYOR_POLICE)
    assert mayor_holds_police("nottinghamshire") is None


def test_loading_does_nothing_at_import():
    import importlib
    import sys

    for name in ("purdah.sources.areas", "purdah.services.areas"):
        sys.modules.pop(name, None)
    module = importlib.import_module("purdah.sources.areas")
    assert module.shipped.cache_info().currsize == 0
