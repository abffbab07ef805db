"""The run-up through the CLI: init's default, the README's tour (a clerk records a
planned notice date and the comms officer's answer changes), warnings, notices."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from purdah.cli import main

POLL = "local.nottinghamshire.2029-05-03"  # last day Tue 27 Mar 2029; run-up from 6 Mar


def run(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def db(tmp_path, monkeypatch):
    path = tmp_path / "purdah.db"
    monkeypatch.setenv("PURDAH_DB", str(path))
    result = run("init")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1] == (
        "new councils get the start policy run-up: restrict from 15 working days before the "
        "statutory last day for the notice of election (for a UK general election: before "
        "dissolution, or from the announcement once it is recorded) until the actual or "
        "planned notice date is recorded, then from that date (change with purdah init "
        "--start-policy)"
    )
    for args in (
        [
            "council",
            "add",
            "nottinghamshire",
            "--name",
            "Notts CC",
            "--nation",
            "ENG",
            "--kind",
            "county",
        ],
        [
            "council",
            "add",
            "gedling",
            "--name",
            "Gedling",
            "--nation",
            "ENG",
            "--kind",
            "district",
            "--within",
            "nottinghamshire",
            "--start-policy",
            "notice-or-statutory",
        ],
        ["councillor", "add", "nottinghamshire/jane-doe", "--name", "Jane Doe", "--may-post"],
        ["councillor", "add", "gedling/al-ray", "--name", "Al Ray"],
        ["election", "add", POLL, "--nation", "ENG"],
    ):
        result = run(*args)
        assert result.exit_code == 0, result.output
    return path


def test_council_add_says_its_policy(tmp_path, monkeypatch):
    monkeypatch.setenv("PURDAH_DB", str(tmp_path / "p.db"))
    run("init", "--start-policy", "notice-or-last-day")
    result = run("council", "add", "x", "--name", "X", "--nation", "ENG", "--kind", "parish")
    assert result.output == "added council x: X (parish, ENG); start policy notice-or-last-day\n"
    assert (
        run("init")
        .output.splitlines()[1]
        .startswith(
            "new councils get the start policy notice-or-last-day: the notice date if it is "
            "recorded, else the statutory last day"
        )
    )


def test_the_tour_a_planned_notice_changes_the_answer(db):
    before = run("check", "nottinghamshire/jane-doe", "--at", "2029-03-20T10:00")
    assert before.exit_code == 1
    assert (
        "  starts at  run-up: 15 working days before the last day for the notice "
        "(the notice date is not recorded)" in before.output.splitlines()
    )
    recorded = run("election", "set-notice", POLL, "2029-03-23")
    assert recorded.exit_code == 0
    assert recorded.output.splitlines()[0] == (
        "local.nottinghamshire.2029-05-03; notice planned for Fri 23 Mar 2029; windows: "
        "0 added, 2 changed, 0 removed; 0 flag changes"
    )
    after = run("check", "nottinghamshire/jane-doe", "--at", "2029-03-20T10:00")
    assert after.exit_code == 0
    assert after.output.splitlines() == [
        "nottinghamshire/jane-doe (Jane Doe) MAY be promoted by the council at "
        "Tue 2029-03-20 10:00 GMT",
        "Yes: no pre-election window is in force; restricted from 00:00 on Friday 23 March "
        "2029 for the Notts CC election on Thursday 3 May 2029 (notice of election 23 March "
        "2029)",
        "  reason   no pre-election window in force",
        "  warning  notice planned for Fri 23 Mar 2029: the pre-election window for "
        "local.nottinghamshire.2029-05-03 starts Fri 23 Mar 2029 (last day Tue 27 Mar 2029)",
    ]
    assert run("check", "nottinghamshire/jane-doe", "--at", "2029-03-23T00:00").exit_code == 1


def test_a_planned_notice_after_the_last_day_is_refused(db):
    result = run("election", "set-notice", POLL, "2029-03-28")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: a planned notice date of Wed 28 Mar 2029 is after the statutory last day for "
        "the notice of election for local.nottinghamshire.2029-05-03, Tue 27 Mar 2029 (25 "
        "working days before the poll; SI 2006/3304 Sch 2 and 3 r1-2; SI 2006/3305 Sch 2 "
        "r1-2): check the date with the returning officer; nothing was changed\n"
    )
    [row] = json.loads(run("election", "list", "--json").output)["elections"]
    assert row["notice"] is None


def test_yes_but_in_the_run_up_under_notice_or_statutory(db):
    result = run("check", "gedling/al-ray", "--at", "2029-03-20T10:00", "--json")
    assert result.exit_code == 0
    body = json.loads(result.output)
    assert body["allowed"] is True
    [warning] = body["warnings"]
    assert warning["kind"] == "notice-due"
    assert warning["message"] == (
        "the notice of election for local.nottinghamshire.2029-05-03 may be published any "
        "day (last day Tue 27 Mar 2029)"
    )
    human = run("check", "gedling/al-ray", "--at", "2029-03-20T10:00")
    assert human.exit_code == 0
    assert human.output.splitlines()[-1] == f"  warning  {warning['message']}"
    status = run("status", "--council", "gedling", "--at", "2029-03-20T10:00", "--json")
    [row] = json.loads(status.output)["councillors"]
    assert row["warnings"] == [warning]


def test_notices_lists_and_forgets_once_recorded(db):
    result = run("notices", "--at", "2029-01-10")
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        "local.nottinghamshire.2029-05-03  poll Thu 3 May 2029  run-up from Tue 6 Mar 2029  "
        "last day Tue 27 Mar 2029  2 councils",
        "  record it: purdah election set-notice local.nottinghamshire.2029-05-03 DATE",
    ]
    [row] = json.loads(run("notices", "--at", "2029-03-14", "--json").output)
    assert row == {
        "election_id": POLL,
        "poll_date": "2029-05-03",
        "rule": "local-eng",
        "run_up_start": "2029-03-06",
        "last_day": "2029-03-27",
        "dissolution": None,
        "general_election": False,
        "run_up_begun": True,
        "councils": 2,
        "command": "purdah election set-notice local.nottinghamshire.2029-05-03 DATE",
    }
    run("election", "set-notice", POLL, "2029-03-23")
    assert run("notices", "--at", "2029-01-10").output == (
        "every coming poll has its notice date recorded\n"
    )


def test_set_policy_recomputes_the_windows(db):
    result = run("council", "set-policy", "gedling", "--start-policy", "run-up")
    assert result.exit_code == 0
    assert result.output.splitlines()[-1] == (
        "gedling: start policy notice-or-statutory -> run-up; windows: 1 changed; 0 flag changes"
    )
    assert run("check", "gedling/al-ray", "--at", "2029-03-20T10:00").exit_code == 1


def test_announced_general_election(db):
    result = run("election", "add", "parl.2027-01-14", "--announced", "2026-11-30T17:00")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].startswith(
        "recorded parl.2027-01-14; announced Mon 2026-11-30 17:00 GMT; windows: 2 added"
    )
    answer = json.loads(
        run("check", "nottinghamshire/jane-doe", "--at", "2026-11-30T17:00", "--json").output
    )
    assert answer["allowed"] is False
    assert answer["reasons"][0]["basis"] == "announcement of the general election"
    early = run("election", "add", "local.gedling.2029-05-03", "--nation", "ENG")
    assert early.exit_code == 0
    wrong = run("election", "announce", "local.gedling.2029-05-03", "2026-11-30")
    assert wrong.exit_code == 2
    assert wrong.stderr.startswith(
        "Error: an announcement is recorded only for a UK general election (parl.DATE)"
    )


def test_timetable_shows_where_the_warnings_start():
    # Electoral Commission media guide 2024: last day Tue 26 Mar 2024.
    result = run("timetable", "local.2024-05-02", "--nation", "ENG")
    assert result.exit_code == 0
    assert (
        "  warning from        Tue 2024-03-05 00:00 GMT: the notice of election for "
        "local.2024-05-02 may be published any day (last day Tue 26 Mar 2024)"
    ) in result.output.splitlines()
    data = json.loads(run("timetable", "local.2024-05-02", "--nation", "ENG", "--json").output)
    assert data["run_up"] == {"start": "2024-03-05", "working_days": 15}
    restricted = json.loads(
        run(
            "timetable", "local.2024-05-02", "--nation", "ENG", "--start", "run-up", "--json"
        ).output
    )
    assert restricted["window"]["start"] == "2024-03-05T00:00:00+00:00"
    assert restricted["window"]["warning"] is None


def test_rules_lists_every_start_policy():
    result = run("rules")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    at = lines.index(
        "start policies (a council's, before the notice date is recorded; council add):"
    )
    assert lines[at + 1].startswith(
        "  run-up (default of a new store)  restrict from 15 working days before the statutory"
    )
    data = json.loads(run("rules", "--json").output)
    assert [p["name"] for p in data["start_policies"]] == [
        "run-up",
        "notice-or-statutory",
        "notice-or-last-day",
        "notice-or-earliest-day",
        "notice-or-dissolution",
    ]
    assert data["run_up_working_days"] == 15


def test_windows_show_the_run_up_a_policy_does_not_restrict_in(db):
    lines = run("windows", "--council", "gedling").output.splitlines()
    assert lines == [
        "COUNCIL  ELECTION                          START                     END"
        "                       RULE       STARTS AT",
        "gedling  local.nottinghamshire.2029-05-03  Tue 2029-03-27 00:00 BST  "
        "Thu 2029-05-03 22:00 BST  local-eng  statutory latest notice of election",
        "gedling local.nottinghamshire.2029-05-03: run-up from Tue 2029-03-06 00:00 GMT, not "
        "restricted under the council's policy: the notice of election for "
        "local.nottinghamshire.2029-05-03 may be published any day (last day Tue 27 Mar 2029)",
    ]
    [row] = json.loads(run("windows", "--council", "gedling", "--json").output)
    assert (row["run_up_start"], row["last_day"]) == ("2029-03-06T00:00:00+00:00", "2029-03-27")
    assert row["run_up_warning"] == lines[2].split("policy: ", 1)[1]
