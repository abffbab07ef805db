"""`purdah timetable`: exit codes, exact error lines, the JSON contract."""

import json

import pytest
from click.testing import CliRunner

from purdah.cli import main


def run(*args):
    return CliRunner().invoke(main, list(args))


def test_json_contract_for_a_general_election():
    result = run("timetable", "parl.2024-07-04", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["election_id"] == "parl.2024-07-04"
    assert data["type"] == "parl"
    assert data["nation"] == "UK"
    assert data["poll_date"] == "2024-07-04"
    assert data["notice_of_election"]["earliest"] is None
    assert data["notice_of_election"]["latest"] == "2024-06-04"
    assert data["dissolution"] == "2024-05-30"
    assert data["window"]["start"] == "2024-05-30T00:00:00+01:00"
    assert data["window"]["end"] == "2024-07-04T22:00:00+01:00"
    assert data["calendar"] == "any-UK"
    assert "RPA 1983 Sch 1 r1-2" in data["sources"]


def test_json_for_scotland_has_an_earliest_notice():
    data = json.loads(run("timetable", "local.2022-05-05", "--nation", "SCT", "--json").output)
    assert data["notice_of_election"] == {
        "earliest": "2022-03-14",
        "latest": "2022-03-23",
        "earliest_working_days": 35,
        "latest_working_days": 28,
    }
    assert data["nation"] == "SCT"
    assert data["calendar"] == "SCT+"
    assert data["window"]["start"] == "2022-03-14T00:00:00+00:00"


def test_human_output_shows_dates_window_calendar_and_sources():
    result = run("timetable", "local.2024-05-02", "--nation", "eng")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "local.2024-05-02: English principal, parish and town councils (ENG)"
    assert "  notice of election  latest Tue 2024-03-26 (25th working day before the poll)" in lines
    assert "  window              Tue 2024-03-26 00:00 GMT  ->  Thu 2024-05-02 22:00 BST" in lines
    assert any(line.startswith("  sources             SI 2006/3304") for line in lines)
    assert any(line.startswith("  calendar            E&W:") for line in lines)


def test_general_election_human_output_uses_right_ordinals():
    output = run("timetable", "parl.2024-07-04").output
    assert "(22nd working day before the poll)" in output
    assert "Thu 2024-05-30 (25th working day)" in output


@pytest.mark.parametrize(
    "args, error",
    [
        (
            ["local.2026-05-07"],
            "Error: local.2026-05-07 is a local election: its id does not say which nation it is "
            "in, and the rules differ by nation; give --nation ENG|WLS|SCT|NIR",
        ),
        (
            ["sp.2026-05-07", "--nation", "ENG"],
            "Error: sp.2026-05-07 is a Scottish Parliament election, held in Scotland: "
            "--nation ENG contradicts it (omit --nation or use SCT)",
        ),
        (
            ["local.2024-02-30", "--nation", "ENG"],
            "Error: election id 'local.2024-02-30': 2024-02-30 is not a real date",
        ),
        (["local.2101-05-05", "--nation", "ENG"], "Error: the holiday data (holidays "),
        (
            ["local.2026-05-07", "--nation", "ENG", "--notice", "2026-05-07"],
            "Error: the notice of election date 2026-05-07 is not before polling day 2026-05-07 "
            "of local.2026-05-07: check the date",
        ),
        (
            ["local.2026-05-07", "--nation", "ENG", "--non-working-day", "tomorrow"],
            "Error: extra non-working day 'tomorrow' is not a date: write YYYY-MM-DD or "
            "YYYY-MM-DD=reason, e.g. 2022-09-19=State funeral",
        ),
        (
            ["europarl.2019-05-23"],
            "Error: election type 'europarl' (europarl.2019-05-23) is not covered by purdah's "
            "rules (RULES.md section 2): there is no statutory timetable to answer from",
        ),
    ],
)
def test_bad_input_exits_2_with_one_error_line(args, error):
    result = run("timetable", *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(error)
    assert "Traceback" not in result.output


def test_usage_errors_are_clicks_own():
    result = run("timetable", "local.2026-05-07", "--nation", "XX")
    assert result.exit_code == 2
    assert "Invalid value for '--nation'" in result.stderr


def test_day_of_mourning_option_moves_the_window():
    data = json.loads(
        run(
            "timetable",
            "local.2026-05-07",
            "--nation",
            "ENG",
            "--non-working-day",
            "2026-03-31=day of mourning",
            "--json",
        ).output
    )
    assert data["notice_of_election"]["latest"] == "2026-03-27"
    assert data["extra_non_working_days"] == {"2026-03-31": "day of mourning"}


def test_declaration_end_policy():
    data = json.loads(
        run(
            "timetable",
            "local.2026-05-07",
            "--nation",
            "ENG",
            "--end",
            "declaration",
            "--declared-at",
            "2026-05-08T02:30",
            "--json",
        ).output
    )
    assert data["window"]["end"] == "2026-05-08T02:30:00+01:00"
    assert data["window"]["end_basis"] == "declaration"
