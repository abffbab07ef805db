"""Councils from the shipped area register: one-step set-up, find, show, edit, remove, and
every area a clerk names checked (issue 10)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from purdah.cli import main


def run(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def db(tmp_path, monkeypatch):
    monkeypatch.setenv("PURDAH_DB", str(tmp_path / "purdah.db"))
    assert run("init").exit_code == 0


def _windows(council: str) -> set[str]:
    result = run("windows", "--council", council, "--json")
    assert result.exit_code == 0, result.output
    return {w["election_id"] for w in json.loads(result.output)}


def test_selston_by_gss_alone_is_restricted_by_its_whole_chain_and_not_by_rotherham(db):
    result = run("council", "add", "--gss", "E04007786")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == (
        "added council selston: Selston Parish Council (parish, ENG, E04007786); "
        "start policy run-up"
    )
    assert run("councillor", "add", "selston/jane-doe", "--name", "Jane Doe").exit_code == 0
    covering = [
        "local.ashfield.2027-05-06",  # the district
        "local.nottinghamshire.2029-05-03",  # the county
        "pcc.nottinghamshire.2028-05-04",  # the police area
        "mayor.east-midlands-cca.2028-05-04",  # the combined county authority
        "parl.2029-08-09",  # a UK general election
    ]
    elsewhere = ["local.rotherham.2028-05-04", "mayor.south-yorkshire.2028-05-04"]
    for election in covering + elsewhere:
        added = run("election", "add", election)
        assert added.exit_code == 0, (election, added.output)
    assert _windows("selston") == set(covering)
    check = run("check", "selston/jane-doe", "--at", "2027-04-20")
    assert check.exit_code == 1, check.output
    assert "MAY NOT be promoted" in check.output.splitlines()[0]
    assert "local.ashfield.2027-05-06" in check.output


def test_a_county_election_does_not_cover_a_city_that_only_shares_its_police_area(db):
    assert run("council", "add", "nottingham").exit_code == 0  # Nottingham City, a unitary
    for election in ("local.nottinghamshire.2029-05-03", "pcc.nottinghamshire.2028-05-04"):
        assert run("election", "add", election).exit_code == 0
    assert _windows("nottingham") == {"pcc.nottinghamshire.2028-05-04"}


def test_a_typo_in_within_is_refused_with_a_suggestion_and_changes_nothing(db):
    result = run(
        "council", "add", "kingsteignton", "--name", "Kingsteignton Town Council",
        "--nation", "ENG", "--kind", "town", "--within", "teignbrige",
    )  # fmt: skip
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "Error: unknown --within area 'teignbrige': did you mean teignbridge?"
    ]
    assert json.loads(run("council", "list", "--json").output)["councils"] == []


@pytest.mark.parametrize(
    "args",
    [
        ["election", "add", "local.2027-05-06", "--area", "teignbrige", "--nation", "ENG"],
        ["election", "add", "local.teignbrige.2027-05-06"],
    ],
)
def test_a_typo_in_an_election_area_is_refused_with_a_suggestion(db, args):
    result = run(*args)
    assert result.exit_code == 2
    assert "'teignbrige'" in result.output
    assert result.output.rstrip().endswith("did you mean teignbridge?")


def test_a_typo_in_import_and_feed_area_is_refused(db, tmp_path):
    ics = tmp_path / "x.ics"
    ics.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:t\r\nBEGIN:VEVENT\r\nUID:a\r\n"
        "DTSTART;VALUE=DATE:20270506\r\nSUMMARY:Local election\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    for command in (["import", str(ics)], ["feed", "add", str(ics)]):
        result = run(*command, "--area", "teignbrige")
        assert result.exit_code == 2, result.output
        assert result.output.splitlines() == [
            "Error: unknown --area 'teignbrige': did you mean teignbridge?"
        ]
    assert json.loads(run("feed", "list", "--json").output) == []


def test_an_abolished_district_names_its_successor(db):
    result = run("council", "add", "harrogate")
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "Error: Harrogate Borough Council (E07000165) was abolished on 2023-04-01; its "
        "successor is North Yorkshire Council (E06000065): add that instead"
    ]
    # A parish of the old Harrogate district lies in North Yorkshire now.
    added = run("council", "add", "--gss", "E04007409", "--json")  # Ripon
    assert added.exit_code == 0, added.output
    chain = [m["slug"] for m in json.loads(added.output)["chain"]]
    assert chain == [
        "north-yorkshire", "york-and-north-yorkshire", "north-yorkshire-police", "eng", "uk",
    ]  # fmt: skip


def test_council_add_by_democracy_club_slug(db):
    result = run("council", "add", "ashfield", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["slug"], data["kind"], data["gss"]) == ("ashfield", "district", "E07000170")
    assert data["within"] == ["nottinghamshire", "east-midlands-cca", "nottinghamshire-police"]


def test_an_unknown_slug_alone_says_how_to_add_by_hand(db):
    result = run("council", "add", "ashfeild")
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "Error: 'ashfeild' is not a Democracy Club slug of a principal council in the area "
        "register: did you mean ashfield? give --gss CODE (see 'purdah council find'), or "
        "add it by hand with --name, --nation, --kind and --within"
    ]


def test_find_json_shows_each_member_of_the_chain_with_code_name_kind_and_slug(db):
    result = run("council", "find", "E04007786", "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["total"] == 1 and "December 2019" in data["vintage"]
    [hit] = data["results"]
    assert (hit["gss"], hit["name"], hit["kind"], hit["slug"]) == (
        "E04007786", "Selston", "parish", None,
    )  # fmt: skip
    assert [(m["gss"], m["kind"], m["slug"]) for m in hit["chain"]] == [
        ("E07000170", "district", "ashfield"),
        ("E10000024", "county", "nottinghamshire"),
        ("E47000013", "combined-county-authority", "east-midlands-cca"),
        ("E23000019", "police-area", "nottinghamshire-police"),
        ("E92000001", "nation", "eng"),
        ("K02000001", "nation", "uk"),
    ]


def test_find_says_the_vintage_in_its_footer(db):
    result = run("council", "find", "selston")
    assert result.exit_code == 0
    assert result.output.splitlines()[0] == "E04007786  Selston (parish, ENG)"
    assert result.output.splitlines()[-1].startswith("1 found. area register: mySociety")


def test_show_says_the_police_polls_are_the_mayors_where_the_mayor_holds_them(db):
    assert run("council", "add", "--gss", "E04000001").exit_code == 0  # Blackrod, Bolton
    result = run("council", "show", "blackrod", "--json")
    data = json.loads(result.output)
    police = [m for m in data["chain"] if m["kind"] == "police-area"]
    assert [m["slug"] for m in police] == ["greater-manchester-police"]
    assert "mayor (greater-manchester-ca) holds the police functions" in police[0]["note"]
    assert any(p["what"].startswith("none of its own") for p in data["polls"])


def test_remove_is_refused_while_councillors_and_force_keeps_history(db):
    assert run("council", "add", "--gss", "E04007786").exit_code == 0
    assert run("councillor", "add", "selston/jane-doe", "--name", "Jane Doe").exit_code == 0
    refused = run("council", "remove", "selston")
    assert refused.exit_code == 2
    assert refused.output.splitlines() == [
        "Error: council selston has 1 councillor: remove them first, or give --force (the "
        "council is retired and its councillors' flag history kept)"
    ]
    assert run("election", "add", "local.ashfield.2027-05-06").exit_code == 0
    assert run("council", "remove", "selston", "--force").exit_code == 0
    councils = json.loads(run("council", "list", "--json").output)["councils"]
    assert [c["slug"].split("-removed-")[0] for c in councils] == ["selston"]
    assert json.loads(run("windows", "--json").output) == []
    # The slug is free again: the clerk can add it afresh.
    assert run("council", "add", "--gss", "E04007786").exit_code == 0


def test_edit_mends_a_wrong_area(db):
    assert run(
        "council", "add", "kingsteignton", "--name", "Kingsteignton Town Council",
        "--nation", "ENG", "--kind", "town", "--within", "teignbridge",
    ).exit_code == 0  # fmt: skip
    result = run("council", "edit", "kingsteignton", "--within", "devon", "--drop-within", "x")
    assert result.exit_code == 2
    assert "does not lie within x" in result.output
    result = run("council", "edit", "kingsteignton", "--within", "devon")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "council kingsteignton: Kingsteignton Town Council (town, ENG), within teignbridge, devon"
    ]


def test_council_import_refuses_a_typo_in_within(db, tmp_path):
    path = tmp_path / "councils.csv"
    path.write_text("slug,name,nation,kind,within\nannesley,Annesley PC,ENG,parish,ashfeild\n")
    result = run("council", "import", str(path))
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "Error: nothing imported; fix these rows and import again:",
        f"  {path}:2: unknown --within area 'ashfeild': did you mean ashfield?",
    ]
    assert json.loads(run("council", "list", "--json").output)["councils"] == []


def test_areas_import_loads_a_newer_parish_lookup_and_find_says_so(db, tmp_path):
    path = tmp_path / "par23.csv"
    path.write_text(
        "PAR23CD,PAR23NM,LAD23CD\n"
        "E04013999,New Selston Lea,E07000170\n"
        "E04007786,Selston,E07000170\n"
    )
    result = run("areas", "import", str(path))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "imported 2 parishes from par23.csv, PAR23 (2023): 1 new, 0 changed since the "
        "shipped lookup"
    ]
    found = run("council", "find", "E04013999")
    assert found.output.splitlines()[0] == "E04013999  New Selston Lea (parish, ENG)"
    assert found.output.splitlines()[-1].endswith(
        "; parishes from the clerk's import (par23.csv, PAR23 (2023))"
    )
    added = run("council", "add", "--gss", "E04013999", "--json")
    assert json.loads(added.output)["within"] == [
        "ashfield", "nottinghamshire", "east-midlands-cca", "nottinghamshire-police",
    ]  # fmt: skip


def test_areas_import_refuses_a_bad_file_and_changes_nothing(db, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("PAR23CD,PAR23NM,LAD23CD\nE04013999,New Place,E99999999\n")
    result = run("areas", "import", str(path))
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "Error: nothing imported; fix these rows and import again:",
        f"  {path}:2: LAD23CD 'E99999999' is not a district in the register",
    ]
    assert run("council", "find", "E04013999").output.startswith("0 found.")


def test_areas_info_counts_the_register(db):
    data = json.loads(run("areas", "info", "--json").output)
    assert data["counts"]["police-area"] == 43
    assert data["counts"]["parish"] == 10464 and data["counts"]["community"] == 877


def test_new_area_admits_an_authority_newer_than_the_register(db):
    """Hampshire and the Solent (SI 2026/595) is newer than the register's data."""
    refused = run("election", "add", "mayor.hampshire-and-the-solent-cca.2028-05-04")
    assert refused.exit_code == 2
    assert "unknown election area 'hampshire-and-the-solent-cca'" in refused.output
    added = run("election", "add", "mayor.hampshire-and-the-solent-cca.2028-05-04", "--new-area")
    assert added.exit_code == 0, added.output
    council = run(
        "council", "add", "test-parish", "--name", "Test Parish Council", "--nation", "ENG",
        "--kind", "parish", "--within", "winchester", "--within", "hampshire-and-the-solent-cca",
    )  # fmt: skip
    assert council.exit_code == 0, council.output  # known now: a recorded election's area
    assert _windows("test-parish") == {"mayor.hampshire-and-the-solent-cca.2028-05-04"}


def test_a_new_slug_keeps_the_polls_recorded_for_the_old_one(db):
    assert run("council", "add", "--gss", "E04007786").exit_code == 0
    assert run("election", "add", "local.selston.2027-05-06").exit_code == 0
    result = run("council", "edit", "selston", "--slug", "selston-pc")
    assert result.exit_code == 0, result.output
    assert _windows("selston-pc") == {"local.selston.2027-05-06"}
