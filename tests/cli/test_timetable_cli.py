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


# Issue 9: the version of the rule, warnings, refusals with the law; `purdah rules`.


def test_timetable_names_the_rule_version_it_used_human_and_json():
    lines = run("timetable", "parl.2010-05-06").output.splitlines()
    assert "  dissolution         Mon 2010-04-12 (17th working day)" in lines
    assert (
        "  rule                parl-1983, the version for polls up to 2014-04-05 "
        "(see 'purdah rules')"
    ) in lines
    data = json.loads(run("timetable", "parl.2010-05-06", "--json").output)
    assert data["rule"] == "parl-1983"
    assert data["rule_version"] == {
        "key": "parl-1983",
        "family": "parl",
        "applies_from": None,
        "applies_to": "2014-04-05",
        "links": [
            "https://www.legislation.gov.uk/ukpga/1983/2/schedule/1/part/I/2010-04-12",
            "https://www.legislation.gov.uk/ukpga/2011/14/section/3/enacted",
        ],
    }
    assert data["warnings"] == []


def test_referendum_kind_option_and_the_warning_without_it():
    data = json.loads(
        run("timetable", "ref.ashfield.2026-03-12", "--referendum", "council-tax", "--json").output
    )
    assert (data["rule"], data["referendum"]) == ("ref-council-tax", "council-tax")
    assert data["referendum_period_start"] == "2026-02-02" and data["warnings"] == []
    result = run("timetable", "ref.ashfield.2026-03-12")
    assert result.exit_code == 0
    assert result.output.startswith(
        "Warning: ref.ashfield.2026-03-12 does not say which kind of referendum it is: purdah "
        "used the kind whose period starts earliest, business-neighbourhood-planning"
    )
    assert "  referendum period from  Thu 2025-12-18 (56th working day before the poll)" in (
        result.output.splitlines()
    )
    warned = json.loads(run("timetable", "ref.ashfield.2026-03-12", "--json").output)
    assert warned["warnings"] and warned["rule"] == "ref-np-business"
    bad = run("timetable", "ref.ashfield.2026-03-12", "--referendum", "parish-poll")
    assert bad.exit_code == 2 and "Invalid value for '--referendum'" in bad.stderr


def test_by_election_default_earliest_is_labelled_not_statutory():
    lines = run("timetable", "parl.x.by.2026-04-30", "--nation", "SCT").output.splitlines()
    assert (
        "  notice of election  purdah's default earliest Tue 2026-03-24 (26th working day), "
        "latest Wed 2026-04-01 (20th working day before the poll)"
    ) in lines
    assert (
        "  starts at           earliest notice the writ allows (purdah's conservative default)"
        in lines
    )


@pytest.mark.parametrize(
    "args, error",
    [
        (
            ["local.x.by.2026-05-09", "--nation", "ENG"],
            "Error: local.x.by.2026-05-09: polling day Sat 09 May 2026 is a Saturday, a day the "
            "timetable disregards and on which no proceedings up to the completion of the poll "
            "may be taken (SI 2006/3304 Sch 2 and 3 r2; SI 2006/3305 Sch 2 r2): check the date",
        ),
        (
            ["parl.2029-08-16"],
            "Error: parl.2029-08-16: a general election cannot be held after Wed 15 Aug 2029",
        ),
        (
            ["pcc.west-yorkshire.2028-05-04"],
            "Error: pcc.west-yorkshire.2028-05-04: there is no police and crime commissioner "
            "election in west-yorkshire",
        ),
        (
            ["sp.c.2011-05-05"],
            "Error: sp.c.2011-05-05: purdah has no Scottish Parliament rule in force on 2011-05-05",
        ),
    ],
)
def test_timetable_refuses_polls_that_cannot_exist(args, error):
    result = run("timetable", *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(error)


def test_rules_command_lists_every_rule_with_period_and_sources():
    from purdah.rules import RULES

    result = run("rules")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert "parl-2014: UK general election (polls 2014-04-06 to 2022-03-23)" in lines
    assert "  legislation    https://www.legislation.gov.uk/wsi/2025/864" in lines
    data = json.loads(run("rules", "--json").output)
    assert [r["key"] for r in data["rules"]] == [r.key for r in RULES]
    senedd = next(r for r in data["rules"] if r["key"] == "senedd-2026")
    assert senedd["applies_from"] == "2026-04-07" and senedd["applies_to"] is None
    assert senedd["sources"][0].startswith("WSI 2025/864 Sch 5 r1")


@pytest.fixture
def store_env(tmp_path, monkeypatch):
    monkeypatch.setenv("PURDAH_DB", str(tmp_path / "purdah.db"))
    assert run("init").exit_code == 0
    args = ["council", "add", "ashfield", "--name", "Ashfield", "--nation", "ENG"]
    assert run(*args, "--kind", "district").exit_code == 0
    return tmp_path


def test_election_add_refuses_what_timetable_refuses_and_records_nothing(store_env):
    result = run("election", "add", "local.ashfield.by.2026-05-04", "--nation", "ENG")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: local.ashfield.by.2026-05-04: polling day Mon 04 May 2026 is May Day, a day "
        "the timetable disregards and on which no proceedings up to the completion of the poll "
        "may be taken (SI 2006/3304 Sch 2 and 3 r2; SI 2006/3305 Sch 2 r2): check the date\n"
    )
    result = run("election", "add", "parl.2029-08-16")
    assert result.exit_code == 2 and "cannot be held after Wed 15 Aug 2029" in result.stderr
    assert json.loads(run("election", "list", "--json").output)["elections"] == []


def test_election_add_takes_the_referendum_kind_and_warns_without_it(store_env):
    result = run("election", "add", "ref.ashfield.2026-03-19", "--referendum", "governance")
    assert result.exit_code == 0 and not result.output.startswith("Warning")
    result = run("election", "add", "ref.ashfield.2026-03-12", "--json")
    data = json.loads(result.output)
    assert data["election"]["referendum"] is None
    assert data["warnings"][0].startswith("ref.ashfield.2026-03-12 does not say which kind")
    windows = json.loads(run("windows", "--council", "ashfield", "--json").output)
    rules = {w["election_id"]: w["rule"] for w in windows}
    assert rules == {
        "ref.ashfield.2026-03-19": "ref-governance",
        "ref.ashfield.2026-03-12": "ref-np-business",
    }


def test_import_skips_a_poll_that_cannot_be_held_with_the_reason(store_env):
    feed = store_env / "polls.ics"
    feed.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:test\r\n"
        "BEGIN:VEVENT\r\nUID:sat\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:20260509\r\n"
        "SUMMARY:By-election\r\nX-DEMOCRACY-CLUB-ID:local.ashfield.by.2026-05-09\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:ok\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:20260507\r\n"
        "SUMMARY:Ordinary\r\nX-DEMOCRACY-CLUB-ID:local.ashfield.2026-05-07\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n"
    )
    data = json.loads(run("import", str(feed), "--json").output)
    assert [p["uid"] for p in data["elections"]] == ["ok"]
    assert data["skipped"] == [
        {
            "uid": "sat",
            "summary": "By-election",
            "reason": "local.ashfield.by.2026-05-09: polling day Sat 09 May 2026 is a Saturday, "
            "a day the timetable disregards and on which no proceedings up to the completion of "
            "the poll may be taken (SI 2006/3304 Sch 2 and 3 r2; SI 2006/3305 Sch 2 r2): check "
            "the date",
        }
    ]


def test_set_referendum_moves_the_window_to_that_kinds_period(store_env):
    assert run("election", "add", "ref.ashfield.2026-03-12").exit_code == 0
    result = run("election", "set-referendum", "ref.ashfield.2026-03-12", "council-tax")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ref.ashfield.2026-03-12 is a council-tax referendum; ")
    [window] = json.loads(run("windows", "--council", "ashfield", "--json").output)
    assert window["rule"] == "ref-council-tax"
    assert window["window"]["start"] == "2026-02-02T00:00:00+00:00"  # 28th working day
    assert window["notes"] == []
    bad = run("election", "set-referendum", "local.ashfield.2026-05-07", "council-tax")
    assert bad.exit_code == 2


def test_election_move_refuses_a_day_no_poll_can_be_held_on(store_env):
    assert run("election", "add", "local.ashfield.by.2026-06-11", "--nation", "ENG").exit_code == 0
    result = run("election", "move", "local.ashfield.by.2026-06-11", "2026-06-13")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "Error: local.ashfield.by.2026-06-11: polling day Sat 13 Jun 2026 is a Saturday"
    )
    [row] = json.loads(run("election", "list", "--json").output)["elections"]
    assert (row["poll_date"], row["status"]) == ("2026-06-11", "scheduled")


def test_a_stored_poll_that_cannot_be_held_keeps_its_window_and_says_why(store_env):
    import sqlite3

    with sqlite3.connect(store_env / "purdah.db") as con:  # recorded before purdah checked
        con.execute(
            "INSERT INTO election (election_id, type, area, nation, poll_date, status, source, "
            "title, created_at, updated_at) VALUES ('local.ashfield.by.2026-05-09', 'local', "
            "'ashfield', 'ENG', '2026-05-09', 'scheduled', 'manual', '', '2026-01-01 00:00:00', "
            "'2026-01-01 00:00:00')"
        )
    assert run("non-working-day", "add", "2026-12-01", "--reason", "recompute").exit_code == 0
    [window] = json.loads(run("windows", "--council", "ashfield", "--json").output)
    assert window["notes"][-1] == (
        "local.ashfield.by.2026-05-09: polling day Sat 09 May 2026 is a Saturday, a day the "
        "timetable disregards and on which no proceedings up to the completion of the poll may "
        "be taken (SI 2006/3304 Sch 2 and 3 r2, SI 2006/3305 Sch 2 r2): check the date: the "
        "window is kept (conservative), cancel or move the poll"
    )
