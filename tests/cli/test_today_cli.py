"""The comms officer's commands: `purdah today` (text and JSON), `check`'s sentence and
when its answer next changes, and the global options before the command."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from purdah.cli import main

POLL = "local.nottinghamshire.2029-05-03"  # statutory last day for the notice Tue 27 Mar


def run(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def db(tmp_path, monkeypatch):
    path = tmp_path / "purdah.db"
    monkeypatch.setenv("PURDAH_DB", str(path))
    for args in (
        ["init", "--start-policy", "notice-or-statutory"],
        [
            *("council", "add", "nottinghamshire", "--name", "Nottinghamshire County Council"),
            *("--nation", "ENG", "--kind", "county"),
        ],
        [
            *("council", "add", "gedling", "--name", "Gedling Borough Council", "--nation", "ENG"),
            *("--kind", "district", "--within", "nottinghamshire"),
        ],
        [
            *("council", "add", "rushcliffe", "--name", "Rushcliffe Borough Council"),
            *("--nation", "ENG", "--kind", "district"),
        ],
        ["councillor", "add", "nottinghamshire/jane-doe", "--name", "Jane Doe", "--may-post"],
        ["councillor", "add", "nottinghamshire/sam-roe", "--name", "Sam Roe", "--ward", "Hucknall"],
        ["councillor", "add", "gedling/al-ray", "--name", "Al Ray"],
        ["councillor", "add", "rushcliffe/kim-poe", "--name", "Kim Poe"],
        ["election", "add", POLL, "--nation", "ENG", "--notice", "2029-03-27"],
    ):
        result = run(*args)
        assert result.exit_code == 0, (args, result.output)
    return path


def test_today_lists_who_may_not_be_promoted_by_council(db):
    result = run("today", "--at", "2029-04-10T10:00")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "3 councillors in 2 councils may not be promoted now",
        "as of Tue 2029-04-10 10:00 BST",
        "",
        "Gedling Borough Council (gedling)",
        "  local.nottinghamshire.2029-05-03: Tue 2029-03-27 00:00 BST -> Thu 2029-05-03 22:00 BST",
        "  COUNCILLOR      NAME    WARD  MAY POST  RESTRICTED UNTIL",
        "  gedling/al-ray  Al Ray  -     no        Thu 2029-05-03 22:00 BST",
        "",
        "Nottinghamshire County Council (nottinghamshire)",
        "  local.nottinghamshire.2029-05-03: Tue 2029-03-27 00:00 BST -> Thu 2029-05-03 22:00 BST",
        "  COUNCILLOR                NAME      WARD      MAY POST  RESTRICTED UNTIL",
        "  nottinghamshire/jane-doe  Jane Doe  -         no        Thu 2029-05-03 22:00 BST",
        "  nottinghamshire/sam-roe   Sam Roe   Hucknall  no        Thu 2029-05-03 22:00 BST",
    ]


def test_today_for_one_council_counts_in_the_singular(db):
    result = run("today", "--council", "gedling", "--at", "2029-04-10T10:00")
    assert result.output.splitlines()[0] == "1 councillor in 1 council may not be promoted now"


def test_today_when_nobody_is_restricted_says_when_the_next_restriction_starts(db):
    result = run("today", "--at", "2029-03-20T10:00")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[:3] == [
        "no councillor is restricted now",
        "as of Tue 2029-03-20 10:00 GMT",
        "the next restriction starts Tue 2029-03-27 00:00 BST: "
        "local.nottinghamshire.2029-05-03 for Gedling Borough Council (gedling), "
        "Nottinghamshire County Council (nottinghamshire)",
    ]
    after = run("today", "--at", "2029-06-01")
    assert after.output.splitlines()[2] == "no restriction is ahead in the elections recorded"


def test_today_json_is_one_object_with_at_and_the_list_of_councils(db):
    result = run("today", "--at", "2029-04-10T10:00", "--json")
    body = json.loads(result.output)
    assert body["at"] == "2029-04-10T10:00:00+01:00"
    assert body["summary"] == "3 councillors in 2 councils may not be promoted now"
    assert body["count"] == 3
    assert [c["council"] for c in body["councils"]] == ["gedling", "nottinghamshire"]
    first = body["councils"][0]["councillors"][0]
    assert first == {
        "councillor": "gedling/al-ray",
        "name": "Al Ray",
        "ward": None,
        "may_post": False,
        "may_promote": False,
        "restricted_until": "2029-05-03T22:00:00+01:00",
        "elections": [POLL],
        "exemptions": [],
    }
    assert body["next_restriction"] is None
    quiet = json.loads(run("today", "--at", "2029-03-20T10:00", "--json").output)
    assert quiet["councils"] == []
    assert quiet["next_restriction"]["start"] == "2029-03-27T00:00:00+01:00"


def test_check_says_it_in_a_sentence_with_when_it_changes(db):
    result = run("check", "nottinghamshire/jane-doe", "--at", "2029-04-10T10:00")
    assert result.exit_code == 1
    assert result.output.splitlines()[1] == (
        "No: the Nottinghamshire County Council election on Thursday 3 May 2029 (notice of "
        "election 27 March 2029); restricted until 22:00 on polling day"
    )
    body = json.loads(
        run("check", "nottinghamshire/jane-doe", "--at", "2029-04-10T10:00", "--json").output
    )
    assert body["restricted_until"] == "2029-05-03T22:00:00+01:00"
    assert body["next_change"] == body["restricted_until"]
    assert body["restricted_from"] is None
    assert body["sentence"] == result.output.splitlines()[1]
    before = json.loads(run("check", "gedling/al-ray", "--at", "2029-03-20T10:00", "--json").output)
    assert (before["allowed"], before["restricted_until"]) == (True, None)
    assert before["restricted_from"] == "2029-03-27T00:00:00+01:00"


def test_check_post_when_the_council_never_agreed(db):
    body = json.loads(
        run("check", "gedling/al-ray", "--action", "post", "--at", "2029-03-01", "--json").output
    )
    assert body["allowed"] is False
    assert body["next_change"] is None
    assert body["sentence"] == (
        "No: the council has not agreed that this councillor may post on its accounts"
    )


def test_global_options_before_the_command(db, tmp_path, monkeypatch):
    monkeypatch.delenv("PURDAH_DB")
    result = run("--db", str(db), "--json", "today", "--at", "2029-04-10T10:00")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["count"] == 3
    listed = run("--db", str(db), "councillor", "list", "--council", "gedling")
    assert listed.output.splitlines()[-1] == "1 councillor"
    # The command's own --db wins over the global one.
    other = run("--db", str(tmp_path / "missing.db"), "today", "--db", str(db))
    assert other.exit_code == 0, other.output
