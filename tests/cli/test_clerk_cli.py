"""The clerk's corrections (councillor edit/remove, election remove, non-working-day
remove), each audited and recomputed; honest imports; counts that agree in number."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from purdah.cli import main
from purdah.services.audit import clerk_changes
from purdah.store import open_store

DATA = Path(__file__).parents[1] / "data"
POLL = "local.nottinghamshire.2029-05-03"
CLOCK = r"\w{3} \d{4}-\d\d-\d\d \d\d:\d\d (GMT|BST)"


def run(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def db(tmp_path, monkeypatch):
    path = tmp_path / "purdah.db"
    monkeypatch.setenv("PURDAH_DB", str(path))
    monkeypatch.setenv("USER", "ann-clerk")
    for args in (
        ["init", "--start-policy", "notice-or-statutory"],
        [
            *("council", "add", "nottinghamshire", "--name", "Nottinghamshire County Council"),
            *("--nation", "ENG", "--kind", "county"),
        ],
        ["councillor", "add", "nottinghamshire/jane-doe", "--name", "Jane Doe", "--may-post"],
        ["councillor", "add", "nottinghamshire/sam-roe", "--name", "Sam Roe"],
    ):
        result = run(*args)
        assert result.exit_code == 0, (args, result.output)
    return path


def test_councillor_list_shows_who_the_council_agreed_may_post(db):
    result = run("councillor", "list")
    assert result.output.splitlines() == [
        "COUNCILLOR                NAME      ROLE    WARD  AGREED MAY POST  MAY POST  MAY PROMOTE",
        "nottinghamshire/jane-doe  Jane Doe  member  -     yes              yes       yes",
        "nottinghamshire/sam-roe   Sam Roe   member  -     no               no        yes",
        "2 councillors",
    ]


def test_councillor_edit_is_audited_and_switches_the_flag(db):
    result = run(
        "councillor", "edit", "nottinghamshire/sam-roe", "--may-post", "--ward", "Hucknall"
    )
    assert result.exit_code == 0, result.output
    first, second = result.output.splitlines()
    assert re.fullmatch(
        r"edited nottinghamshire/sam-roe: ward None -> 'Hucknall'; agreed_may_post False -> "
        rf"True \(by ann-clerk at {CLOCK}\); 1 flag change",
        first,
    ), first
    assert second.startswith("switched nottinghamshire/sam-roe may_post no -> yes at ")
    [audit] = clerk_changes(open_store(str(db)))
    assert (audit.actor, audit.action, audit.subject) == (
        "ann-clerk",
        "councillor edit",
        "nottinghamshire/sam-roe",
    )
    again = run("councillor", "edit", "nottinghamshire/sam-roe", "--may-post", "--by", "Bo")
    assert again.output == (
        "nottinghamshire/sam-roe: nothing changed (the values given are the stored ones)\n"
    )
    nothing = run("councillor", "edit", "nottinghamshire/sam-roe")
    assert nothing.exit_code == 2
    assert nothing.stderr == (
        "Error: nothing to change: give --name, --ward, --role, --email, or "
        "--may-post/--no-may-post\n"
    )


def test_councillor_remove_keeps_history_but_lists_checks_and_switches_no_more(db):
    assert run("councillor", "edit", "nottinghamshire/jane-doe", "--no-may-post").exit_code == 0
    before = run("history", "nottinghamshire/jane-doe").output
    assert "may_post yes -> no" in before
    result = run("councillor", "remove", "nottinghamshire/jane-doe", "--by", "Pat Clerk")
    assert result.exit_code == 0, result.output
    assert re.fullmatch(
        rf"removed nottinghamshire/jane-doe: left office \(Jane Doe\) \(by Pat Clerk at "
        rf"{CLOCK}\); 0 flag changes",
        result.output.strip(),
    ), result.output
    assert run("councillor", "list").output.splitlines()[1:] == [
        "nottinghamshire/sam-roe  Sam Roe  member  -     no               no        yes",
        "1 councillor",
    ]
    assert run("history", "nottinghamshire/jane-doe").output == before
    assert run("check", "nottinghamshire/jane-doe").exit_code == 2
    statuses = json.loads(run("status", "--json").output)["councillors"]
    assert [s["councillor"] for s in statuses] == ["nottinghamshire/sam-roe"]
    again = run("councillor", "remove", "nottinghamshire/jane-doe")
    assert again.exit_code == 2
    assert "(left office " in again.stderr


def test_election_remove_is_distinct_from_cancel(db):
    assert run("election", "add", POLL, "--nation", "ENG").exit_code == 0
    result = run("election", "remove", POLL)
    assert result.exit_code == 0, result.output
    assert re.fullmatch(
        rf"removed {re.escape(POLL)} \(entered in error: local poll on 2029-05-03 for "
        rf"nottinghamshire \(status scheduled, notice not recorded\); by ann-clerk at "
        rf"{CLOCK}\); windows: 0 added, 0 changed, 1 removed; 0 flag changes",
        result.output.strip(),
    ), result.output
    assert json.loads(run("election", "list", "--json").output)["elections"] == []
    assert run("windows").output == ""
    [audit] = clerk_changes(open_store(str(db)), POLL)
    assert audit.action == "election remove"
    missing = run("election", "remove", POLL)
    assert missing.exit_code == 2
    assert missing.stderr == (f"Error: no election '{POLL}' recorded: see 'purdah election list'\n")


def test_an_imported_election_is_not_removed_but_said_how(db):
    assert run("import", str(DATA / "democracy_club_ids.ics")).exit_code == 0
    result = run("election", "remove", "pcc.nottinghamshire.2028-05-04")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: election pcc.nottinghamshire.2028-05-04 came from ")
    assert result.stderr.endswith(
        ": the next import would record it again; remove it from that calendar (the import "
        "then withdraws it), or 'purdah election cancel pcc.nottinghamshire.2028-05-04' if "
        "the poll was cancelled\n"
    )


def test_non_working_day_remove_moves_the_windows_back(db):
    assert run("election", "add", POLL, "--nation", "ENG").exit_code == 0
    start = json.loads(run("windows", "--json").output)[0]["window"]["start"]
    added = run("non-working-day", "add", "2029-04-10", "--reason", "day of mourning")
    assert added.exit_code == 0
    moved = json.loads(run("windows", "--json").output)[0]["window"]["start"]
    assert moved < start
    result = run("non-working-day", "remove", "2029-04-10", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["removed"] == "2029-04-10"
    assert body["audit"]["detail"] == "was: day of mourning"
    assert body["windows"] == {
        "added": 0,
        "changed": 1,
        "removed": 0,
        "full": "a non-working day can move any window's working-day count",
    }
    assert json.loads(run("windows", "--json").output)[0]["window"]["start"] == start
    gone = run("non-working-day", "remove", "2029-04-10")
    assert gone.exit_code == 2
    assert gone.stderr == (
        "Error: 2029-04-10 is not recorded as a non-working day: nothing was changed\n"
    )


def test_an_import_that_records_nothing_fails_and_says_why(db):
    result = run("import", str(DATA / "council_meetings_no_polls.ics"))
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: no event says it is a poll (3 events skipped): give --area and --type, or "
        "--every-event if every event in it is a poll; nothing was recorded\n"
    )
    body = json.loads(run("import", str(DATA / "council_meetings_no_polls.ics"), "--json").output)
    assert body["errors"] == [result.stderr.removeprefix("Error: ").strip()]


def test_a_shrink_caused_by_missing_options_says_so_not_force(db):
    source = str(DATA / "polling_days_untyped.ics")
    run("council", "add", "ashfield", "--name", "A", "--nation", "ENG", "--kind", "district")
    first = run("import", source, "--council", "ashfield", "--type", "local")
    assert first.exit_code == 0, first.output
    assert first.output.splitlines()[0].endswith(": 5 new; 0 skipped, 0 warnings")
    again = run("import", source)
    assert again.exit_code == 1
    assert again.stderr == (
        f"Error: {source}: it had 5 polls and now has 1, because 4 events in it could not be "
        "placed with the options given (e.g. 'cannot tell what kind of election: import "
        "with --type'): import it with the options of its last import (--council, --area, "
        "--type, --every-event); nothing was changed\n"
    )
    assert "--force" not in again.stderr.split("(e.g.")[0]


def test_a_poll_naming_another_registered_council_is_placed_with_a_warning(db):
    source = str(DATA / "parish_by_election_in_district_calendar.ics")
    for args in (
        [
            *("council", "add", "ashfield", "--name", "Ashfield District Council"),
            *("--nation", "ENG", "--kind", "district"),
        ],
        [
            *("council", "add", "selston", "--name", "Selston Parish Council", "--nation", "ENG"),
            *("--kind", "parish", "--within", "ashfield"),
        ],
        [
            *("council", "add", "treeton", "--name", "Treeton Parish Council", "--nation", "ENG"),
            "--kind",
            "parish",
        ],
    ):
        assert run(*args).exit_code == 0
    result = run("import", source, "--council", "ashfield")
    assert result.exit_code == 0, result.output
    assert (
        f"  warning    {source}: event 'd-2' ('Selston Parish Council by-election') names "
        "Selston Parish Council (selston) but is recorded for ashfield, whose area covers "
        "selston and more (conservative): to restrict only selston, import selston's own "
        "calendar with --council selston, or remove the event here and record 'purdah "
        "election add local.selston.2027-06-03'" in result.output.splitlines()
    )
    assert result.output.splitlines()[0].endswith(": 2 new; 0 skipped, 1 warning")
